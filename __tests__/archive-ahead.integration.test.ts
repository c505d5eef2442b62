/**
 * A one-image `docker save` pushes each layer as soon as it is compressed (issue 17: docker save at
 * skopeo's pace), while the archive's other layers still are; the copy that follows counts those
 * uploads as its own and moves nothing twice. Checked against a real registry through the
 * recording proxy, and with skopeo.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArchiveInput } from '../src/archive/archive-paths.js'
import { StaticCredentials } from '../src/auth/credentials.js'
import type { ProgressEvent } from '../src/engine/events.js'
import { pushArchives, type ArchiveRequest } from '../src/engine/push-archives.js'
import type { CopyResult, Reporter } from '../src/engine/request.js'
import { parseEndpoint } from '../src/endpoint.js'
import { silentLogger } from '../src/log.js'
import type { Descriptor } from '../src/manifest.js'
import { parsePlatform, type PlatformSpec } from '../src/platform.js'
import { Registries } from '../src/registry/registries.js'
import { UNLIMITED } from '../src/size.js'
import { Stores } from '../src/stores.js'
import { fastNoise, listTags, sha256 } from '../testbed/fixtures.js'
import { startProxy, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { writeTar, type TarItem } from '../testbed/tarballs.js'
import { requireTools, skopeoRaw } from '../testbed/tools.js'

const MiB = 1024 * 1024
let registry: TestRegistry
let proxy: RecordingProxy
let dir: string
/** One image: a large layer of noise (compressed alone, first), then two of text that take a while to deflate. */
let save: string
/** The same layers, two images. */
let twoImages: string
let broken: string

const text = (seed: string, size: number) => {
  const lines: string[] = []
  for (let i = 0, length = 0; length < size; i++) {
    const line = `${seed} line ${i} ${(i * 7919) % 104729}\n`
    lines.push(line)
    length += line.length
  }
  return Buffer.from(lines.join('')).subarray(0, size)
}
const layers = [fastNoise('ahead-large', 24 * MiB), text('ahead-a', 8 * MiB), text('ahead-b', 8 * MiB)]
const layerNames = layers.map((_, i) => `l${i}/layer.tar`)

const configOf = (architecture: string) =>
  Buffer.from(JSON.stringify({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } }))

function saveItems(images: Array<{ tag: string; architecture: string }>, bodies: readonly Buffer[] = layers): TarItem[] {
  const configs = images.map(({ architecture }) => configOf(architecture))
  return [
    ...bodies.map((body, i) => ({ name: layerNames[i], body })),
    ...configs.map((body, i) => ({ name: `config${i}.json`, body })),
    {
      name: 'manifest.json',
      body: JSON.stringify(images.map(({ tag }, i) => ({ Config: `config${i}.json`, RepoTags: [tag], Layers: layerNames })))
    }
  ]
}

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  registry = await startRegistry()
  proxy = await startProxy(registry.port)
  dir = await mkdtemp(join(tmpdir(), 'oci-push-ahead-'))
  save = join(dir, 'save.tar')
  twoImages = join(dir, 'two.tar')
  broken = join(dir, 'broken.tar')
  await writeTar(save, saveItems([{ tag: 'ahead/app:v1', architecture: 'amd64' }]))
  await writeTar(
    twoImages,
    saveItems([
      { tag: 'ahead/app:amd64', architecture: 'amd64' },
      { tag: 'ahead/app:arm64', architecture: 'arm64' }
    ])
  )
  // The last text layer is not what the config lists.
  await writeTar(broken, saveItems([{ tag: 'ahead/app:v1', architecture: 'amd64' }], [layers[0], layers[1], text('other', 8 * MiB)]))
}, 120_000)

afterAll(async () => {
  await proxy?.stop()
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** Pushes `archive` through the proxy, collecting the engine's events. */
async function push(
  archive: string,
  destRef: string,
  options: Partial<Omit<ArchiveRequest, 'archives' | 'destinations'>> & { dryRun?: boolean } = {}
): Promise<{ result: CopyResult | undefined; events: ProgressEvent[] }> {
  const events: ProgressEvent[] = []
  const reporter: Reporter = { ...silentLogger, event: (event) => events.push(event) }
  const registries = new Registries({ credentials: new StaticCredentials([]), plainHttp: true, logger: silentLogger })
  const { dryRun, ...request } = options
  try {
    const result = await pushArchives(
      new Stores(registries),
      {
        archives: parseArchiveInput(archive),
        destinations: [parseEndpoint(destRef)],
        prefixes: [],
        maxArtifactSize: UNLIMITED,
        ...request
      },
      reporter,
      dryRun ? { dryRun } : {}
    )
    return { result, events }
  } finally {
    await registries.close()
  }
}

/** The pushed image's layers, largest first, as the registry has them. */
async function pushedLayers(ref: string): Promise<Descriptor[]> {
  const manifest = JSON.parse(await skopeoRaw(ref)) as { layers: Descriptor[] }
  return [...manifest.layers].sort((a, b) => b.size - a.size)
}

const uploadsOf = (digest: string) =>
  proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.path.includes(encodeURIComponent(digest)))
const opened = (events: ProgressEvent[]) => events.findIndex((e) => e.type === 'archive-opened')
const blobEvents = (events: ProgressEvent[]) => events.flatMap((e, i) => (e.type.startsWith('blob-') ? [i] : []))

describe('a one-image docker save', () => {
  test('the largest layer is uploaded while the others are still compressed; every blob once; the copy counts them as uploaded', async () => {
    proxy.reset()
    const { result, events } = await push(save, `${proxy.host}/ahead/first:v1`)
    const [largest, ...rest] = await pushedLayers(`${registry.host}/ahead/first:v1`)
    // A layer compressed into its upload is named by its content (its diff_id) until its digest is known.
    const started = events.findIndex((e) => e.type === 'blob-started' && e.digest === sha256(layers[0]))
    expect(started).toBeGreaterThanOrEqual(0)
    expect(started).toBeLessThan(opened(events))
    for (const layer of [largest, ...rest]) expect(uploadsOf(layer.digest)).toHaveLength(1)
    const config = 1
    expect(result?.stats).toMatchObject({ blobsUploaded: layers.length + config, blobsSkipped: 0, blobsMounted: 0 })
    const layerBytes = [largest, ...rest].reduce((sum, l) => sum + l.size, 0)
    expect(result?.stats.bytesUploaded).toBeGreaterThan(layerBytes)
    // Each blob's events once: the copy adds none for what went ahead.
    for (const layer of layers) expect(events.filter((e) => e.type === 'blob-done' && e.digest === sha256(layer))).toHaveLength(1)
    for (const layer of [largest, ...rest]) expect(events.filter((e) => e.type === 'blob-done' && e.digest === layer.digest)).toEqual([])
    expect(await listTags(registry.host, 'ahead/first')).toEqual(['v1'])
  })

  test('a re-run: the layers are found there ahead (a HEAD each), nothing is uploaded, the copy says already there', async () => {
    await push(save, `${proxy.host}/ahead/again:v1`)
    proxy.reset()
    const { result } = await push(save, `${proxy.host}/ahead/again:v1`)
    expect(proxy.requests.filter((r) => r.path.includes('/blobs/uploads/'))).toEqual([])
    expect(result?.stats).toMatchObject({ blobsUploaded: 0, bytesUploaded: 0 })
    expect(result?.stats.blobsSkipped).toBe(layers.length + 1)
  })

  test('an upload refused ahead is made by the copy, and counted once', async () => {
    await push(save, `${registry.host}/ahead/probe:v1`)
    const [largest] = await pushedLayers(`${registry.host}/ahead/probe:v1`)
    proxy.reset()
    proxy.faults.rules = [
      {
        match: (r) => r.method === 'PUT' && r.path.includes(encodeURIComponent(largest.digest)),
        times: 1,
        action: { status: 400 }
      }
    ]
    try {
      const { result } = await push(save, `${proxy.host}/ahead/refused:v1`)
      expect(uploadsOf(largest.digest)).toHaveLength(2)
      expect(result?.stats).toMatchObject({ blobsUploaded: layers.length + 1, blobsSkipped: 0 })
      expect(JSON.parse(await skopeoRaw(`${registry.host}/ahead/refused:v1`))).toMatchObject({
        layers: expect.arrayContaining([expect.objectContaining({ digest: largest.digest })])
      })
    } finally {
      proxy.faults.rules = []
    }
  })

  test('a copy that fails while a layer is still going up ahead does not wait for it: that upload is stopped, never stored', async () => {
    await push(save, `${registry.host}/ahead/probe:v1`)
    const [largest] = await pushedLayers(`${registry.host}/ahead/probe:v1`)
    const config = sha256(configOf('amd64'))
    proxy.reset()
    proxy.faults.rules = [
      // The largest layer's upload is held longer than the whole copy takes; the config is refused.
      { match: (r) => r.method === 'PUT' && r.path.includes(encodeURIComponent(largest.digest)), times: 1, action: { delayMs: 20_000 } },
      { match: (r) => r.method === 'PUT' && r.path.includes(encodeURIComponent(config)), times: Infinity, action: { status: 400 } }
    ]
    try {
      await expect(push(save, `${proxy.host}/ahead/stopped:v1`)).rejects.toThrow(/400/)
    } finally {
      proxy.faults.rules = []
    }
    const head = await fetch(`http://${registry.host}/v2/ahead/stopped/blobs/${largest.digest}`, { method: 'HEAD' })
    expect(head.status).toBe(404)
    expect(await listTags(registry.host, 'ahead/stopped')).toEqual([])
  }, 30_000)

  test('a layer that is not what the config lists: refused, no tag written, and that layer never uploaded', async () => {
    proxy.reset()
    const error = await push(broken, `${proxy.host}/ahead/broken:v1`).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/the config lists/)
    expect(await listTags(registry.host, 'ahead/broken')).toEqual([])
    expect(proxy.requests.filter((r) => r.path.includes('/manifests/') && r.method === 'PUT')).toEqual([])
    // At most the two layers that are what the config lists went ahead.
    expect(proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/')).length).toBeLessThanOrEqual(2)
  })
})

describe('no uploads before the archive is open when where they go is not known yet', () => {
  const platform = (text: string) => parsePlatform(text) as PlatformSpec
  test.each([
    ['a dry run', () => save, {}, true],
    ['a save of two images (platforms choose)', () => twoImages, { platforms: [platform('linux/arm64')] }, false],
    ['platforms asked for', () => save, { platforms: [platform('linux/amd64')] }, false]
  ])('%s', async (_name, archive, request, dryRun) => {
    proxy.reset()
    const { events } = await push(archive(), `${proxy.host}/ahead/later:v1`, { ...request, dryRun })
    expect(blobEvents(events).every((i) => i > opened(events))).toBe(true)
    if (dryRun) expect(proxy.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([])
    else expect(blobEvents(events).length).toBeGreaterThan(0)
  })
})
