/** Runs the mirror engine against test registries the way the action wires it. */
import { StaticCredentials } from '../../src/auth/credentials.js'
import { runMirror, type MirrorRequest, type MirrorResult } from '../../src/engine/mirror.js'
import type { Logger } from '../../src/log.js'
import { parseMirrorConfig } from '../../src/mirror/config.js'
import { lineReporter } from '../../src/progress.js'
import { Registries } from '../../src/registry/registries.js'
import { UNLIMITED } from '../../src/size.js'
import { Stores } from '../../src/stores.js'
import { FAST_RETRY } from './copy.js'

export interface MirrorRun {
  result: MirrorResult
  /** Every line logged, pairs' lines included. */
  log: string[]
}

export async function mirror(config: string, options: Partial<Omit<MirrorRequest, 'config'>> = {}): Promise<MirrorRun> {
  const log: string[] = []
  const record = (message: string) => log.push(message)
  const logger: Logger = { debug: () => {}, info: record, warning: record, notice: record, secret: () => {} }
  const registries = new Registries({ credentials: new StaticCredentials([]), plainHttp: false, logger, retry: FAST_RETRY })
  try {
    const result = await runMirror(
      {
        config: parseMirrorConfig(config),
        dryRun: false,
        failFast: false,
        concurrency: 4,
        maxArtifactSize: UNLIMITED,
        retry: FAST_RETRY,
        ...options
      },
      { opener: new Stores(registries), logger, reporterFor: () => lineReporter(logger) }
    )
    return { result, log }
  } finally {
    await registries.close()
  }
}
