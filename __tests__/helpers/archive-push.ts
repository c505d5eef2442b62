/** Runs the archive engine (`pushArchives`) against test registries the way the action wires it. */
import { parseArchiveInput } from '../../src/archive/archive-paths.js'
import { StaticCredentials } from '../../src/auth/credentials.js'
import { pushArchives, type ArchiveRequest } from '../../src/engine/push-archives.js'
import type { CopyResult } from '../../src/engine/copy-artifact.js'
import { parseEndpoint } from '../../src/endpoint.js'
import { silentLogger } from '../../src/log.js'
import { Registries } from '../../src/registry/registries.js'
import { UNLIMITED } from '../../src/size.js'
import { Stores } from '../../src/stores.js'
import { lineReporter } from '../../src/progress.js'

/** `archive` as the input takes it (`path[@sha256:…]`), to `destRef`; no size limit unless given. */
export async function pushArchive(
  archive: string,
  destRef: string,
  options: Partial<Omit<ArchiveRequest, 'archives' | 'destinations' | 'prefixes'>> = {}
): Promise<CopyResult | undefined> {
  const registries = new Registries({ credentials: new StaticCredentials([]), plainHttp: false, logger: silentLogger })
  try {
    return await pushArchives(
      new Stores(registries),
      {
        archives: parseArchiveInput(archive),
        destinations: [parseEndpoint(destRef)],
        prefixes: [],
        maxArtifactSize: UNLIMITED,
        ...options
      },
      lineReporter(silentLogger)
    )
  } finally {
    await registries.close()
  }
}
