/**
 * Legacy docker-save layers compressed once: measured into a temporary file (the spool) when the
 * archive is opened, uploaded from it. The digests stay what they were before the spool, each
 * layer is read from the archive once whatever reads its blob after, the `diff_ids` check still
 * refuses a tampered layer, and the spool's files live under RUNNER_TEMP only while needed.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import { LegacyArchiveSource } from '../src/archive/archive-sources.js'
import type { ArchiveContainer } from '../src/archive/container.js'
import { layerGzip } from '../src/archive/layer-compression.js'
import { LayerSpool, TemporarySpaceError } from '../src/archive/layer-spool.js'
import { openArchive } from '../src/archive/open-archive.js'
import { TarContainer } from '../src/archive/tar-container.js'
import { StaticCredentials } from '../src/auth/credentials.js'
import { sha256 } from '../src/digest.js'
import { copyArtifact } from '../src/engine/copy-artifact.js'
import { parseEndpoint } from '../src/endpoint.js'
import { ContentError } from '../src/errors.js'
import { silentLogger } from '../src/log.js'
import type { Descriptor } from '../src/manifest.js'
import { lineReporter } from '../src/progress.js'
import { Registries } from '../src/registry/registries.js'
import { UNLIMITED } from '../src/size.js'
import { isClosable } from '../src/storage.js'
import { Stores } from '../src/stores.js'
import { fastNoise } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { writeTar, type TarItem } from '../testbed/tarballs.js'
import { requireTools } from '../testbed/tools.js'
import { pushArchive } from './helpers/archive-push.js'

const MiB = 1024 * 1024
let dir: string
let registry: TestRegistry
let spoolRoot: string
const savedRunnerTemp = process.env.RUNNER_TEMP

/** Deterministic text that deflates well (level 1 is chosen for it). */
function text(size: number): Buffer {
  const lines: string[] = []
  let length = 0
  for (let i = 0; length < size; i++) {
    const line = `usr/share/doc/package-${i % 97}/file-${i}.txt ${(i * 7919) % 1000003}\n`
    lines.push(line)
    length += line.length
  }
  return Buffer.from(lines.join('')).subarray(0, size)
}

/** Empty, text (level 1), noise (stored, level 0), and a text MiB before noise (level 1 throughout). */
const layers = [
  Buffer.alloc(0),
  text(3 * MiB + 5),
  fastNoise('spool-noise', 2 * MiB + 17),
  Buffer.concat([text(MiB), fastNoise('spool-mixed', MiB + 3)])
]
const layerNames = layers.map((_, i) => `layer${i}/layer.tar`)
const config = Buffer.from(
  JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } })
)

/**
 * The digests this archive gives, pinned (Node 20's zlib 1.3.1; Node 24's gives the same bytes),
 * so a re-push of the same archive by a later version moves nothing. Changed on purpose twice:
 * issue 17's 1 MiB output pieces (the stored layer was `sha256:757d0e8d…` before), and issue 25's
 * gzip on every core at level 1, `memLevel` 9, a 16 KiB window (before it: manifest `sha256:8b9ea917…`, layers `59869db3…`,
 * `2506325e…`, `7f5085cb…`, `9013489c…`, from zlib on one core at level 6).
 */
const BEFORE = {
  manifest: 'sha256:ab960fd460571383c8e0537fb462db25fd72cde64502456c9b48776d77f96fa0',
  layers: [
    { digest: 'sha256:458c5a203299dd326aa747fee1bbc7709bfbd560507d1603459d9f7d9eb6be76', size: 20 },
    { digest: 'sha256:023f866fc6f70e0cb37883916115137f61162d3c88e2f7db947b7b462e46fb68', size: 593516 },
    { digest: 'sha256:2fa761c1d2170d5aca3e1c068eab25efaf279fd33ba1d2925206abf30829b298', size: 2097364 },
    { digest: 'sha256:edb3d41be60e71e563f5491ccf987e7bafc27c84e6d2f70722cd3f69b254ed23', size: 1248929 }
  ]
}

/** The docker save's entries; `extra` adds files no image uses (a save's `VERSION` files). */
function saveItems(layerBodies: readonly Buffer[] = layers, extra: TarItem[] = []): TarItem[] {
  return [
    ...layerBodies.map((body, i) => ({ name: layerNames[i], body })),
    ...extra,
    { name: 'config.json', body: config },
    { name: 'manifest.json', body: JSON.stringify([{ Config: 'config.json', RepoTags: ['spool/app:v1'], Layers: layerNames }]) }
  ]
}

async function tarball(name: string, items: TarItem[], gzip = false): Promise<string> {
  const path = join(dir, name)
  await writeTar(path, items, { gzip })
  return path
}

/** The files under the spool root: `oci-push-layers-*` directories and what they hold. */
async function spooled(): Promise<string[]> {
  const entries = await readdir(spoolRoot, { recursive: true })
  return entries.sort()
}

beforeAll(async () => {
  await requireTools(['docker-registry'])
  dir = await mkdtemp(join(tmpdir(), 'oci-push-spool-'))
  registry = await startRegistry()
})

afterAll(async () => {
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

beforeEach(async () => {
  spoolRoot = await mkdtemp(join(dir, 'runner-temp-'))
  process.env.RUNNER_TEMP = spoolRoot
})

afterEach(() => {
  if (savedRunnerTemp === undefined) delete process.env.RUNNER_TEMP
  else process.env.RUNNER_TEMP = savedRunnerTemp
})

describe('digests', () => {
  test.each([
    ['a plain tar', false],
    ['its gzip', true]
  ])('%s: the same manifest and layer digests as before the spool', async (_name, gzip) => {
    const path = await tarball(`digests${gzip ? '.tar.gz' : '.tar'}`, saveItems(), gzip)
    const opened = await openArchive(path)
    try {
      expect(opened.images.map((i) => i.descriptor.digest)).toEqual([BEFORE.manifest])
      const manifest = JSON.parse((await opened.source.fetchManifest(BEFORE.manifest)).bytes.toString()) as { layers: Descriptor[] }
      expect(manifest.layers.map(({ digest, size }) => ({ digest, size }))).toEqual(BEFORE.layers)
      // And the bytes read back are those digests, and gunzip to the layers.
      for (const [i, layer] of manifest.layers.entries()) {
        const bytes = await collect(await opened.source.fetchBlob(layer))
        expect(sha256(bytes)).toBe(layer.digest)
        expect(gunzipSync(bytes).equals(layers[i])).toBe(true)
      }
    } finally {
      if (isClosable(opened.source)) await opened.source.close()
    }
  })
})

/** A plain tar that counts how often each file is opened and the bytes read from it. */
class CountingContainer implements ArchiveContainer {
  readonly opened = new Map<string, number>()
  readonly bytesRead = new Map<string, number>()

  constructor(private readonly tar: TarContainer) {}

  get path(): string {
    return this.tar.path
  }
  get sequential(): boolean {
    return this.tar.sequential
  }
  names(): string[] {
    return this.tar.names()
  }
  canonicalName(name: string): string {
    return this.tar.canonicalName(name)
  }
  size(name: string): number | undefined {
    return this.tar.size(name)
  }
  position(name: string): number {
    return this.tar.position(name)
  }
  readSmall(name: string): Promise<Buffer> {
    return this.tar.readSmall(name)
  }
  async open(name: string, signal?: AbortSignal): Promise<Readable> {
    const file = this.canonicalName(name)
    this.opened.set(file, (this.opened.get(file) ?? 0) + 1)
    const stream = await this.tar.open(name, signal)
    const count = (chunk: Buffer) => this.bytesRead.set(file, (this.bytesRead.get(file) ?? 0) + chunk.length)
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        count(chunk)
        done(null, chunk)
      }
    })
    stream.on('error', (error) => counter.destroy(error))
    return stream.pipe(counter)
  }
}

describe('each layer compressed once', () => {
  test('pushed to a registry and a layout: every layer read from the archive once and gzip-compressed once', async () => {
    const path = await tarball('once.tar', saveItems())
    const container = new CountingContainer(await TarContainer.open(path))
    let gzips = 0
    const makeGzip = (level: number): Transform => {
      gzips++
      return layerGzip(level)
    }
    const source = await LegacyArchiveSource.open(container, new LayerSpool({ makeGzip }))
    const layout = join(dir, 'once-layout')
    const registries = new Registries({ credentials: new StaticCredentials([]), plainHttp: false, logger: silentLogger })
    try {
      const stores = new Stores(registries)
      stores.addLocal('archive', path, source)
      const result = await copyArtifact(
        stores,
        {
          source: { kind: 'archive', path, digest: BEFORE.manifest },
          destinations: [parseEndpoint(`${registry.host}/once/app:v1`), parseEndpoint(`${layout}:v1`)],
          maxArtifactSize: UNLIMITED
        },
        lineReporter(silentLogger)
      )
      expect(result.digest).toBe(BEFORE.manifest)
    } finally {
      await registries.close()
      await source.close()
    }
    expect(Object.fromEntries(container.opened)).toEqual(Object.fromEntries(layerNames.map((name) => [name, 1])))
    expect(Object.fromEntries(container.bytesRead)).toEqual(
      Object.fromEntries(layerNames.flatMap((name, i) => (layers[i].length > 0 ? [[name, layers[i].length]] : [])))
    )
    expect(gzips).toBe(layers.length)
    // Both destinations got the gzip'd layers.
    for (const [i, { digest }] of BEFORE.layers.entries()) {
      const res = await fetch(`http://${registry.host}/v2/once/app/blobs/${digest}`)
      expect(gunzipSync(Buffer.from(await res.arrayBuffer())).equals(layers[i])).toBe(true)
      expect(sha256(await readFile(join(layout, 'blobs', 'sha256', digest.slice(7))))).toBe(digest)
    }
  })

  test('a layer named by two images (or through a link) is read and compressed once', async () => {
    const two = JSON.stringify([
      { Config: 'config.json', RepoTags: ['spool/app:v1'], Layers: layerNames },
      { Config: 'config.json', RepoTags: ['spool/app:v2'], Layers: ['link.tar', ...layerNames.slice(1)] }
    ])
    const items = saveItems().filter((item) => item.name !== 'manifest.json')
    const path = await tarball('shared.tar', [
      ...items,
      { name: 'link.tar', type: 'symlink', linkname: layerNames[0] },
      { name: 'manifest.json', body: two }
    ])
    const container = new CountingContainer(await TarContainer.open(path))
    const source = await LegacyArchiveSource.open(container, new LayerSpool())
    try {
      expect(source.images().map((i) => [i.name, i.descriptor.digest])).toEqual([
        ['spool/app:v1', BEFORE.manifest],
        ['spool/app:v2', BEFORE.manifest]
      ])
      expect(Object.fromEntries(container.opened)).toEqual(Object.fromEntries(layerNames.map((name) => [name, 1])))
    } finally {
      await source.close()
    }
  })
})

describe('the spool', () => {
  test.each([
    ['a plain tar', false],
    ['its gzip', true]
  ])("%s: the gzip'd layers wait under RUNNER_TEMP while the archive is open, and are gone once it is closed", async (_name, gzip) => {
    const path = await tarball(`spool${gzip ? '.tar.gz' : '.tar'}`, saveItems(layers, [{ name: 'layer1/VERSION', body: '1.0' }]), gzip)
    const opened = await openArchive(path)
    const [directory, ...files] = await spooled()
    expect(directory).toMatch(/^oci-push-layers-\w+$/)
    // One file per layer; a gzip'd tar's first pass also kept VERSION (it could have been a layer): removed once known not to be one.
    expect(files).toHaveLength(layers.length)
    const sizes = await Promise.all(files.map(async (file) => (await readFile(join(spoolRoot, file))).length))
    expect(sizes.sort((a, b) => a - b)).toEqual(BEFORE.layers.map((l) => l.size).sort((a, b) => a - b))
    expect(isClosable(opened.source)).toBe(true)
    if (isClosable(opened.source)) await opened.source.close()
    expect(await spooled()).toEqual([])
  })

  test('pushArchives closes each archive once its images are pushed: nothing spooled afterwards, in the same process', async () => {
    const path = await tarball('closed-after.tar', saveItems(layers, []))
    const result = await pushArchive(path, `${registry.host}/spool/closed:v1`)
    expect(result?.digest).toBe(BEFORE.manifest)
    expect(await spooled()).toEqual([])
  })

  test('an OCI layout tar spools nothing', async () => {
    const layer = text(1000)
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }]
      })
    )
    const blob = (body: Buffer) => ({ name: `blobs/sha256/${sha256(body).slice(7)}`, body })
    const index = {
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length }]
    }
    const path = await tarball(
      'layout.tar.gz',
      [
        { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
        { name: 'NOTES', body: 'plain text' },
        blob(layer),
        blob(config),
        blob(manifest),
        { name: 'index.json', body: JSON.stringify(index) }
      ],
      true
    )
    const opened = await openArchive(path)
    expect(opened.kind).toBe("OCI layout gzip'd tar")
    expect(await spooled()).toEqual([])
  })

  test.each([
    ['a plain tar', false],
    ['its gzip', true]
  ])(
    '%s: a layer that is not what the config lists is refused by the diff_ids check, and nothing is left in the spool',
    async (_name, gzip) => {
      const tampered = Buffer.from(layers[1])
      tampered[100] ^= 1
      const path = await tarball(`tampered${gzip ? '.tar.gz' : '.tar'}`, saveItems([layers[0], tampered, layers[2], layers[3]]), gzip)
      const error = await openArchive(path).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ContentError)
      expect((error as Error).message).toBe(
        `${path}: entry "${layerNames[1]}" has content ${sha256(tampered)}, the config lists ${sha256(layers[1])}`
      )
      expect(await spooled()).toEqual([])
    }
  )

  test('RUNNER_TEMP missing: an error naming it', async () => {
    const missing = join(spoolRoot, 'not-there')
    process.env.RUNNER_TEMP = missing
    const path = await tarball('missing-temp.tar', saveItems())
    const error = await openArchive(path).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TemporarySpaceError)
    expect((error as TemporarySpaceError).directory).toBe(missing)
    expect((error as Error).message).toMatch(
      new RegExp(`^temporary directory ${missing}: cannot make a directory for gzip'd layers there \\(ENOENT`)
    )
  })

  test('a full disk: an error naming the directory and the layer, and no file left', async () => {
    // Writes to /dev/full fail with ENOSPC, as a full disk's do.
    const spool = new LayerSpool({ createFile: () => createWriteStream('/dev/full') })
    const error = await spool.keep(Readable.from([layers[2]]), 'save.tar entry "layer2/layer.tar"').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TemporarySpaceError)
    const [directory] = await spooled()
    expect(error).toMatchObject({ code: 'ENOSPC', directory: join(spoolRoot, directory) })
    expect((error as Error).message).toMatch(
      new RegExp(
        `^temporary directory ${join(spoolRoot, directory)}: no space left for the gzip'd copy of save.tar entry "layer2/layer.tar" \\(ENOSPC, .* written\\); free space there, or set RUNNER_TEMP to a directory on a larger disk$`
      )
    )
    expect(await readdir(join(spoolRoot, directory))).toEqual([])
    await spool.close()
    expect(await spooled()).toEqual([])
  })
})

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
