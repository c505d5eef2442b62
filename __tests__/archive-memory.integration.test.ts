/**
 * A 321 MiB docker save pushed with memory that does not grow with it: the bundled action run
 * under GNU time, its peak RSS read back. The bound asserted here is generous (the benchmark
 * measures it precisely); it fails if a layer were ever held whole in memory.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction } from '../testbed/action.js'
import { fastNoise, sha256 } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { writeTar } from '../testbed/tarballs.js'
import { requireTools, skopeoPullAll } from '../testbed/tools.js'

let registry: TestRegistry
let dir: string
const MiB = 1024 * 1024
/** ~321 MiB in three incompressible layers. */
const LAYER_SIZES = [1 * MiB, 64 * MiB, 256 * MiB]

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo', '/usr/bin/time'])
  registry = await startRegistry()
  dir = await mkdtemp(join(tmpdir(), 'oci-push-memory-'))
  const layers = LAYER_SIZES.map((size, i) => fastNoise(`memory-layer-${i}`, size))
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } })
  )
  const configName = `${sha256(config).slice(7)}.json`
  const layerNames = layers.map((_, i) => `layer${i}/layer.tar`)
  const manifest = [{ Config: configName, RepoTags: ['big/app:v1'], Layers: layerNames }]
  await writeTar(join(dir, 'big.tar'), [
    ...layers.map((body, i) => ({ name: layerNames[i], body })),
    { name: configName, body: config },
    { name: 'manifest.json', body: JSON.stringify(manifest) }
  ])
}, 120_000)

afterAll(async () => {
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

test('a 321 MiB docker save is pushed with bounded memory', async () => {
  const result = await runAction({ archive: join(dir, 'big.tar'), destRef: `${registry.host}/big/app` }, {}, [
    '/usr/bin/time',
    '-f',
    'peak-rss-kib %M'
  ])
  expect(result.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([])
  expect(result.exitCode).toBe(0)
  // Every layer waits on gzip's buffer thousands of times: no listener may be left per wait.
  expect(result.stderr).not.toMatch(/MaxListenersExceededWarning/)
  const peakMiB = Number(/peak-rss-kib (\d+)/.exec(result.stderr)?.[1]) / 1024
  console.log(`peak RSS pushing a 321 MiB docker save: ${peakMiB.toFixed(0)} MiB`)
  expect(peakMiB).toBeGreaterThan(0)
  expect(peakMiB).toBeLessThan(300)
  await skopeoPullAll(`${registry.host}/big/app:v1`)
}, 300_000)
