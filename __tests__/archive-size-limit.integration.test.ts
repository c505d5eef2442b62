/**
 * `maxArtifactSize` guards registry-to-registry copies across repositories only (DESIGN §2):
 * archives, packaged paths and layouts, read or written, are the user's own files. With the
 * limit at 0 (every cross-repository copy refused) and at 1 byte, each of those still works,
 * and a copy to another repository of the registry is still refused.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StaticCredentials } from '../src/auth/credentials.js'
import { SizeLimitError } from '../src/errors.js'
import { parseEndpoint } from '../src/endpoint.js'
import { silentLogger } from '../src/log.js'
import { pushPackage } from '../src/engine/push-package.js'
import { Registries } from '../src/registry/registries.js'
import { Stores } from '../src/stores.js'
import { image, listTags, pushFixture } from '../testbed/fixtures.js'
import { skopeoExport } from '../testbed/layouts.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, run, skopeoRaw } from '../testbed/tools.js'
import { pushArchive } from './helpers/archive-push.js'
import { copy } from './helpers/copy.js'
import { lineReporter } from '../src/progress.js'

let registry: TestRegistry
let dir: string
const img = image({ seed: 'size-limit', layers: 2, layerSize: 8 * 1024 })

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  registry = await startRegistry()
  dir = await mkdtemp(join(tmpdir(), 'oci-push-size-limit-'))
  await pushFixture(registry.host, 'seed/app', img, 'v1')
  await skopeoExport(`${registry.host}/seed/app:v1`, `oci-archive:${join(dir, 'app.oci.tar')}:v1`)
  await skopeoExport(`${registry.host}/seed/app:v1`, `oci:${join(dir, 'layout')}:v1`)
  await mkdir(join(dir, 'package'))
  await writeFile(join(dir, 'package', 'notes.txt'), 'release notes\n')
}, 60_000)

afterAll(async () => {
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function packageTo(destRef: string, maxArtifactSize: number): Promise<string> {
  const registries = new Registries({ credentials: new StaticCredentials([]), plainHttp: false, logger: silentLogger })
  try {
    const result = await pushPackage(
      new Stores(registries),
      {
        path: join(dir, 'package'),
        artifactType: 'application/vnd.example.notes.v1',
        destinations: [parseEndpoint(destRef)],
        maxArtifactSize
      },
      lineReporter(silentLogger)
    )
    return result.digest
  } finally {
    await registries.close()
  }
}

describe.each([0, 1])('maxArtifactSize %d', (limit) => {
  test('an archive pushed to a registry: not limited', async () => {
    const result = await pushArchive(join(dir, 'app.oci.tar'), `${registry.host}/archive-${limit}/app`, { maxArtifactSize: limit })
    expect(result?.digest).toBe(img.root.digest)
    expect(await skopeoRaw(`${registry.host}/archive-${limit}/app:v1`)).toBe(img.root.bytes.toString())
  })

  test('a packaged directory pushed to a registry: not limited', async () => {
    const digest = await packageTo(`${registry.host}/package-${limit}/notes:v1`, limit)
    expect(await listTags(registry.host, `package-${limit}/notes`)).toEqual(['v1'])
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  test('a registry image exported to a layout: not limited', async () => {
    const out = join(dir, `export-${limit}`)
    const result = await copy(`${registry.host}/seed/app:v1`, `${out}:v1`, { maxArtifactSize: limit })
    expect(result.digest).toBe(img.root.digest)
    expect(await run('skopeo', ['inspect', '--raw', `oci:${out}:v1`])).toBe(img.root.bytes.toString())
  })

  test('a layout pushed to a registry: not limited', async () => {
    const result = await copy(`${join(dir, 'layout')}:v1`, `${registry.host}/layout-${limit}/app:v1`, { maxArtifactSize: limit })
    expect(result.digest).toBe(img.root.digest)
  })

  test('a registry image to another repository: refused before anything moves', async () => {
    const error = await copy(`${registry.host}/seed/app:v1`, `${registry.host}/other-${limit}/app:v1`, { maxArtifactSize: limit }).catch(
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(SizeLimitError)
    expect((error as Error).message).toMatch(
      limit === 0 ? /cross-repository push is disabled/ : /exceeds the limit of 1 B; raise maxArtifactSize/
    )
    expect(await listTags(registry.host, `other-${limit}/app`)).toEqual([])
  })

  test('a registry image retagged in its own repository: not limited', async () => {
    const result = await copy(`${registry.host}/seed/app:v1`, `${registry.host}/seed/app:same-${limit}`, { maxArtifactSize: limit })
    expect(result.digest).toBe(img.root.digest)
  })
})
