/**
 * A legacy `docker save` layer is compressed straight into its upload, as `docker push` uploads
 * (issue 25 §1): `POST`, one `PATCH` with the whole blob streamed (no `Content-Length`, no
 * `Content-Range`), `PUT ?digest=` with no body; no temporary file. Checked against distribution,
 * through the recording proxy playing hosted registries' manners, and read back with skopeo.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { parseArchiveInput } from '../src/archive/archive-paths.js'
import { measureCompressed } from '../src/archive/layer-compression.js'
import { StaticCredentials } from '../src/auth/credentials.js'
import { pushArchives } from '../src/engine/push-archives.js'
import type { CopyResult, Reporter } from '../src/engine/request.js'
import { parseEndpoint } from '../src/endpoint.js'
import { silentLogger } from '../src/log.js'
import { Registries } from '../src/registry/registries.js'
import { UNLIMITED } from '../src/size.js'
import { Stores } from '../src/stores.js'
import { fastNoise, sha256 } from '../testbed/fixtures.js'
import { startProxy, type RecordedRequest, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { writeTar } from '../testbed/tarballs.js'
import { requireTools, skopeoPullAll, skopeoRaw } from '../testbed/tools.js'
import { playUploadManners, type UploadManners } from '../testbed/upload-manners.js'

const MiB = 1024 * 1024
let registry: TestRegistry
let proxy: RecordingProxy
let dir: string
let spoolRoot: string
let save: string
const previousRunnerTemp = process.env.RUNNER_TEMP

/** Lines of text (deflated) and noise (stored), each over ghcr.io's 4 MiB chunk cap once gzip'd. */
const text = Buffer.from(Array.from({ length: 400_000 }, (_, i) => `line ${i} ${(i * 7919) % 104729} of a layer\n`).join(''))
const noise = fastNoise('streamed-noise', 6 * MiB)
const layers = [noise, text]
/** Each layer's digest as gzip'd here, by the same deterministic rule. */
let expected: string[]

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  registry = await startRegistry()
  proxy = await startProxy(registry.port)
  dir = await mkdtemp(join(tmpdir(), 'oci-push-streamed-'))
  spoolRoot = join(dir, 'runner-temp')
  await (await import('node:fs/promises')).mkdir(spoolRoot)
  process.env.RUNNER_TEMP = spoolRoot
  save = join(dir, 'save.tar')
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map(sha256) } })
  )
  await writeTar(save, [
    ...layers.map((body, i) => ({ name: `l${i}/layer.tar`, body })),
    { name: 'config.json', body: config },
    {
      name: 'manifest.json',
      body: JSON.stringify([{ Config: 'config.json', RepoTags: ['app:v1'], Layers: ['l0/layer.tar', 'l1/layer.tar'] }])
    }
  ])
  expected = await Promise.all(layers.map(async (layer) => (await measureCompressed(Readable.from([layer]))).digest))
}, 120_000)

afterAll(async () => {
  if (previousRunnerTemp === undefined) delete process.env.RUNNER_TEMP
  else process.env.RUNNER_TEMP = previousRunnerTemp
  await proxy?.stop()
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

beforeEach(() => proxy.reset())

/** Pushes the save through the proxy, keeping what was logged at info level. */
async function push(destRef: string, archive = save): Promise<{ result: CopyResult | undefined; infos: string[]; spooled: string[] }> {
  const infos: string[] = []
  const reporter: Reporter = { ...silentLogger, info: (line: string) => infos.push(line), event: () => {} }
  const registries = new Registries({ credentials: new StaticCredentials([]), plainHttp: true, logger: silentLogger })
  let spooled: string[] = []
  const watching = setInterval(() => {
    void readdir(spoolRoot).then((names) => (spooled = [...new Set([...spooled, ...names])]))
  }, 5)
  try {
    const result = await pushArchives(
      new Stores(registries),
      { archives: parseArchiveInput(archive), destinations: [parseEndpoint(destRef)], prefixes: [], maxArtifactSize: UNLIMITED },
      reporter
    )
    return { result, infos, spooled }
  } finally {
    clearInterval(watching)
    await registries.close()
  }
}

const uploads = (method: string) => proxy.requests.filter((r) => r.method === method && r.path.includes('/blobs/uploads/'))
const patches = () => uploads('PATCH')
const closes = (digest: string) => uploads('PUT').filter((r) => r.path.includes(encodeURIComponent(digest)))

/** The pushed image's layer digests, in order, as the registry has them; skopeo pulls it whole (every digest checked). */
async function pushedLayers(repository: string): Promise<string[]> {
  await skopeoPullAll(`${registry.host}/${repository}:v1`)
  return (JSON.parse(await skopeoRaw(`${registry.host}/${repository}:v1`)) as { layers: Array<{ digest: string }> }).layers.map(
    (l) => l.digest
  )
}

function expectStreamed(patch: RecordedRequest): void {
  expect(patch.headers['content-range']).toBeUndefined()
  expect(patch.headers['content-length']).toBeUndefined()
  expect(patch.headers['transfer-encoding']).toBe('chunked')
}

describe('a docker save layer compressed into one streamed PATCH', () => {
  test.each<[string, UploadManners | undefined]>([
    ['distribution', undefined],
    ['ghcr.io (PATCH chunks over 4 MiB refused)', 'ghcr'],
    ['ECR (PATCH answered 201, Range lagging)', 'ecr'],
    ['a registry asking for chunks of at least 64 MiB', 'chunk-min-length']
  ])('%s: POST, one PATCH, PUT ?digest= per layer; no temporary file; the digests as spooled', async (_name, manners) => {
    if (manners) playUploadManners(proxy, manners)
    const repository = `streamed/${manners ?? 'distribution'}`
    const { result, spooled } = await push(`${proxy.host}/${repository}:v1`)
    expect(await pushedLayers(repository)).toEqual(expected)
    expect(patches()).toHaveLength(layers.length)
    for (const patch of patches()) expectStreamed(patch)
    for (const digest of expected) {
      const [close] = closes(digest)
      expect(closes(digest)).toHaveLength(1)
      expect(close.headers['content-length']).toBe('0')
    }
    expect(spooled.filter((name) => name.startsWith('oci-push-layers-'))).toEqual([])
    expect(result?.stats).toMatchObject({ blobsUploaded: layers.length + 1, blobsSkipped: 0 })
  })

  test('a registry that refuses a streamed PATCH: the layer is spooled and PUT whole, and the next one does not try (remembered)', async () => {
    playUploadManners(proxy, 'no-streamed-patch')
    const { infos, spooled } = await push(`${proxy.host}/streamed/refused:v1`)
    expect(await pushedLayers('streamed/refused')).toEqual(expected)
    expect(patches()).toHaveLength(1)
    for (const digest of expected) expect(closes(digest)).toHaveLength(1)
    expect(spooled.some((name) => name.startsWith('oci-push-layers-'))).toBe(true)
    expect(infos.filter((line) => /refused a streamed upload \(411\)/.test(line))).toHaveLength(1)
  })

  test('a PATCH whose connection breaks: the layer is compressed again from the archive into a new session, to the same digest', async () => {
    proxy.faults.rules = [{ match: (r) => r.method === 'PATCH', times: 1, action: { reset: true } }]
    const { infos } = await push(`${proxy.host}/streamed/restarted:v1`)
    expect(await pushedLayers('streamed/restarted')).toEqual(expected)
    expect(patches()).toHaveLength(layers.length + 1)
    expect(uploads('POST').filter((r) => !r.path.includes('mount='))).toHaveLength(layers.length + 2)
    expect(infos.join('\n')).toMatch(/again from the archive/)
  })

  test('pushed again under the same tag with one layer changed: the unchanged layer is asked for first and not sent, the new one streams', async () => {
    await push(`${proxy.host}/streamed/latest:latest`)
    const changed = Buffer.from(Array.from({ length: 50_000 }, (_, i) => `changed ${i}\n`).join(''))
    const next = join(dir, 'next.tar')
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(noise), sha256(changed)] } })
    )
    await writeTar(next, [
      { name: 'l0/layer.tar', body: noise },
      { name: 'l1/layer.tar', body: changed },
      { name: 'config.json', body: config },
      {
        name: 'manifest.json',
        body: JSON.stringify([{ Config: 'config.json', RepoTags: ['app:v2'], Layers: ['l0/layer.tar', 'l1/layer.tar'] }])
      }
    ])
    proxy.reset()
    const { result } = await push(`${proxy.host}/streamed/latest:latest`, next)
    const [unchanged, added] = (
      JSON.parse(await skopeoRaw(`${registry.host}/streamed/latest:latest`)) as { layers: Array<{ digest: string }> }
    ).layers
    expect(unchanged.digest).toBe(expected[0])
    expect(patches()).toHaveLength(1)
    expect(closes(unchanged.digest)).toEqual([])
    expect(closes(added.digest)).toHaveLength(1)
    expect(proxy.requests.filter((r) => r.method === 'HEAD' && r.path.endsWith(`/blobs/${unchanged.digest}`))).toHaveLength(1)
    expect(result?.stats).toMatchObject({ blobsUploaded: 2, blobsSkipped: 1 })
    await skopeoPullAll(`${registry.host}/streamed/latest:latest`)
  })

  test('a re-run finds the config there: every layer is measured and asked for first, nothing is sent', async () => {
    await push(`${proxy.host}/streamed/again:v1`)
    proxy.reset()
    const { result } = await push(`${proxy.host}/streamed/again:v1`)
    expect(proxy.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([])
    expect(result?.stats).toMatchObject({ blobsUploaded: 0, bytesUploaded: 0 })
  })
})
