/**
 * `dryRun: true` for every kind of source (DESIGN §2): a registry copy, an archive and a packaged
 * path are planned, nothing is written, and the outputs name the digest a real run then pushes.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction } from '../testbed/action.js'
import { image, listTags, pushFixture } from '../testbed/fixtures.js'
import { skopeoExport } from '../testbed/layouts.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools } from '../testbed/tools.js'

let registry: TestRegistry
let dir: string
const img = image({ seed: 'dry-run', layers: 2 })

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  registry = await startRegistry()
  dir = await mkdtemp(join(tmpdir(), 'oci-push-dry-run-'))
  await pushFixture(registry.host, 'seed/app', img, 'v1')
  await skopeoExport(`${registry.host}/seed/app:v1`, `oci-archive:${join(dir, 'app.oci.tar')}:v1`)
  await mkdir(join(dir, 'notes'))
  await writeFile(join(dir, 'notes', 'notes.txt'), 'release notes\n')
}, 60_000)

afterAll(async () => {
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('dryRun: true', () => {
  test.each([
    ['a registry copy', () => ({ srcRef: `${registry.host}/seed/app:v1` })],
    ['an archive', () => ({ archive: join(dir, 'app.oci.tar') })],
    ['a packaged directory', () => ({ path: join(dir, 'notes'), artifactType: 'application/vnd.example.notes.v1' })]
  ])('%s: nothing written, the digest a real run pushes', async (name, source) => {
    const repo = `dry/${name.replace(/\W+/g, '-')}`
    const destRef = `${registry.host}/${repo}:v1`
    const planned = await runAction({ ...source(), destRef, dryRun: 'true' })
    expect(planned.exitCode).toBe(0)
    expect(await listTags(registry.host, repo)).toEqual([])
    expect(planned.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    const real = await runAction({ ...source(), destRef })
    expect(real.exitCode).toBe(0)
    expect(real.outputs.digest).toBe(planned.outputs.digest)
    expect(await listTags(registry.host, repo)).toEqual(['v1'])
  })
})
