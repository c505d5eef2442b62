/**
 * Archives the real tools would never write, built entry by entry: each is refused with the
 * entry's name, before anything is pushed. And tagless, empty and gzip-bomb cases.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { FIRST_PASS_LIMITS, GzipTarContainer } from '../src/archive/gzip-container.js'
import { ArchiveLayoutSource } from '../src/archive/archive-sources.js'
import { LayerSpool } from '../src/archive/layer-spool.js'
import { openArchive } from '../src/archive/open-archive.js'
import { StaticCredentials } from '../src/auth/credentials.js'
import { copyArtifact } from '../src/engine/copy-artifact.js'
import { parseEndpoint } from '../src/endpoint.js'
import { silentLogger } from '../src/log.js'
import { lineReporter } from '../src/progress.js'
import { Registries } from '../src/registry/registries.js'
import { UNLIMITED } from '../src/size.js'
import { Stores } from '../src/stores.js'
import { sha256 } from '../src/digest.js'
import { ContentError, InputError } from '../src/errors.js'
import { parsePlatform } from '../src/platform.js'
import { runAction } from '../testbed/action.js'
import { fastNoise, image, listTags, type Fixture } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { writeTar, type TarItem } from '../testbed/tarballs.js'
import { requireTools, skopeoRaw } from '../testbed/tools.js'
import { pushArchive } from './helpers/archive-push.js'

let dir: string
let registry: TestRegistry
/** Where the gzip'd tars opened here directly (not through openArchive) spool their legacy layers. */
let spool: LayerSpool
const img = image({ seed: 'safety', layers: 2, layerSize: 4096 })

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  dir = await mkdtemp(join(tmpdir(), 'oci-push-safety-'))
  spool = new LayerSpool({ root: dir })
  registry = await startRegistry()
})

afterAll(async () => {
  await spool?.close()
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const blobName = (digest: string) => `blobs/sha256/${digest.slice('sha256:'.length)}`

/** The entries of an OCI layout holding `fixture`, its index entry named `tag` when given. */
function layoutItems(fixture: Fixture, tag?: string): TarItem[] {
  const entry = {
    mediaType: fixture.root.mediaType,
    digest: fixture.root.digest,
    size: fixture.root.size,
    ...(tag ? { annotations: { 'org.opencontainers.image.ref.name': tag } } : {})
  }
  return [
    { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests: [entry] }) },
    ...[...fixture.blobs, ...fixture.children, fixture.root].map((b) => ({ name: blobName(b.digest), body: b.bytes }))
  ]
}

async function tarball(name: string, items: TarItem[], gzip = false): Promise<string> {
  const path = join(dir, name)
  await writeTar(path, items, { gzip })
  return path
}

describe('refused with the entry named', () => {
  test.each([
    ['a path escaping the root', [{ name: '../evil', body: 'x' }], /entry "\.\.\/evil" points outside the archive/],
    ['an absolute path', [{ name: '/etc/evil', body: 'x' }], /entry "\/etc\/evil" has an absolute path/],
    [
      'a symlink out of the archive',
      [{ name: 'index.json', type: 'symlink' as const, linkname: '../../etc/passwd' }],
      /link "index\.json" points outside the archive/
    ],
    [
      'a symlink to an absolute path',
      [{ name: 'index.json', type: 'symlink' as const, linkname: '/etc/passwd' }],
      /link "index\.json" points to an absolute path/
    ],
    ['a device file', [{ name: 'dev/null', type: 'character-device' as const }], /entry "dev\/null" is a device or FIFO/]
  ])('%s (tar and tar.gz)', async (name, items, problem) => {
    for (const gzip of [false, true]) {
      const path = await tarball(`${name.replace(/\W+/g, '-')}${gzip ? '.gz' : ''}`, [...layoutItems(img, 'v1'), ...items], gzip)
      const error = await openArchive(path).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ContentError)
      expect((error as Error).message).toMatch(problem)
    }
  })

  test('a JSON file over 4 MiB', async () => {
    const big = JSON.stringify({ schemaVersion: 2, manifests: [], padding: 'x'.repeat(4 * 1024 * 1024) })
    const path = await tarball('big-index.tar', [
      { name: 'oci-layout', body: '{}' },
      { name: 'index.json', body: big }
    ])
    await expect(openArchive(path)).rejects.toThrow(/entry "index\.json" is larger than 4194304 bytes/)
  })

  test('a blob missing, and a blob of the wrong size: named, and nothing pushed', async () => {
    const missing = layoutItems(img, 'v1').filter((item) => item.name !== blobName(img.blobs[1].digest))
    const short = layoutItems(img, 'v1').map((item) =>
      item.name === blobName(img.blobs[1].digest) ? { ...item, body: (item.body as Buffer).subarray(0, 100) } : item
    )
    for (const [name, items, problem] of [
      ['missing', missing, /is missing \(named by a manifest\)/],
      ['short', short, /has 100 bytes, its descriptor says/]
    ] as const) {
      const path = await tarball(`${name}.tar`, [...items])
      const result = await runAction({ archive: path, destRef: `${registry.host}/${name}/app:v1` })
      expect(result.exitCode).toBe(1)
      expect(result.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([expect.stringMatching(problem)])
      expect(result.stdout).toContain(blobName(img.blobs[1].digest))
      expect(await listTags(registry.host, `${name}/app`)).toEqual([])
    }
  })

  test('a blob whose bytes are not its digest: refused before anything points at it', async () => {
    const corrupted = layoutItems(img, 'v1').map((item) => {
      if (item.name !== blobName(img.blobs[2].digest)) return item
      const bytes = Buffer.from(item.body as Buffer)
      bytes[10] ^= 0xff
      return { ...item, body: bytes }
    })
    const path = await tarball('corrupted.tar', corrupted)
    const result = await runAction({ archive: path, destRef: `${registry.host}/corrupted/app:v1` })
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toMatch(new RegExp(`::error::.*@${img.blobs[2].digest}: blob content does not match its digest`))
    expect(await listTags(registry.host, 'corrupted/app')).toEqual([])
  })

  test('a truncated tar', async () => {
    const path = await tarball('whole.tar', layoutItems(img, 'v1'))
    const { readFile } = await import('node:fs/promises')
    const bytes = await readFile(path)
    const cut = join(dir, 'truncated.tar')
    // Cut inside a layer's data.
    const layer = img.blobs[1].bytes
    await writeFile(cut, bytes.subarray(0, bytes.indexOf(layer.subarray(0, 64)) + 100))
    await expect(openArchive(cut)).rejects.toThrow(/is truncated/)
  })

  test('a gzip stream that expands past what its entries declare', async () => {
    const { readFile } = await import('node:fs/promises')
    const plain = await tarball('small.tar', layoutItems(img, 'v1'))
    const bomb = join(dir, 'bomb.bin')
    await writeFile(bomb, gzipSync(Buffer.concat([await readFile(plain), Buffer.alloc(8 * 1024 * 1024)])))
    await expect(openArchive(bomb)).rejects.toThrow(/expands past the sizes its entries declare/)
  })
})

describe('index.json digests are checked before they become file names', () => {
  /** From `blobs/sha256/` inside the layout, this leads to `outside.json` beside it. */
  const CRAFTED = 'sha256:../../../outside.json'
  const craftedIndex = (digest: string, mediaType = img.root.mediaType, size = img.root.size) =>
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType, digest, size, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }]
    })
  const refused = new RegExp(
    `index\\.json: manifests\\[0\\] has digest "sha256:\\.\\./\\.\\./\\.\\./outside\\.json", which is not algorithm:hex`
  )

  beforeAll(async () => {
    // A readable, valid manifest (whose blobs the layouts hold) where the crafted digest leads:
    // were it ever opened, it would be pushed, and the error below would not be the digest's.
    await writeFile(join(dir, 'outside.json'), img.root.bytes)
  })

  test.each([
    ['a layout directory', 'dir'],
    ['a layout tar', 'tar'],
    ["a layout tar, gzip'd", 'gz']
  ])('%s: refused naming index.json, the file it points at never read, nothing pushed', async (_name, kind) => {
    const items = layoutItems(img, 'v1').map((item) => (item.name === 'index.json' ? { ...item, body: craftedIndex(CRAFTED) } : item))
    let path: string
    if (kind === 'dir') {
      path = join(dir, 'crafted-dir')
      for (const item of items) {
        await mkdir(dirname(join(path, item.name)), { recursive: true })
        await writeFile(join(path, item.name), item.body as string | Buffer)
      }
    } else {
      path = await tarball(`crafted.${kind}`, items, kind === 'gz')
    }
    const error = await pushArchive(path, `${registry.host}/crafted-${kind}/app`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ContentError)
    expect((error as Error).message).toMatch(refused)
    expect((error as ContentError).reference).toBe(kind === 'dir' ? `${path}/index.json` : `${path} index.json`)
    expect(await listTags(registry.host, `crafted-${kind}/app`)).toEqual([])
  })

  test("an index's child with such a digest, read from a blob: refused by the manifest's own check", async () => {
    const child = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: img.root.mediaType, digest: CRAFTED, size: img.root.size }]
    })
    const childDigest = sha256(Buffer.from(child))
    const items = [
      ...layoutItems(img).filter((item) => item.name !== 'index.json'),
      { name: 'index.json', body: craftedIndex(childDigest, 'application/vnd.oci.image.index.v1+json', child.length) },
      { name: blobName(childDigest), body: child }
    ]
    const path = await tarball('crafted-nested.tar', items)
    const error = await pushArchive(path, `${registry.host}/crafted-nested/app`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ContentError)
    expect((error as Error).message).toMatch(/manifests\[0\] has no valid digest/)
    expect(await listTags(registry.host, 'crafted-nested/app')).toEqual([])
  })
})

describe("the gzip'd tar's first pass", () => {
  test("JSON-looking entries past 64 MiB in all: the gzip'd tar is refused; the plain tar, read in place, is not", async () => {
    // 1040 files of 64 KiB: more than 64 MiB held whole if each were kept.
    const notes = Array.from({ length: 1040 }, (_, i) => ({
      name: `notes/${i}.json`,
      body: JSON.stringify({ i, text: 'x'.repeat(64 * 1024) })
    }))
    const items = [...layoutItems(img, 'v1'), ...notes]
    const gz = await tarball('many-json.gz', items, true)
    await expect(openArchive(gz)).rejects.toThrow(
      /many-json\.gz: holds more than 64\.0 MiB of JSON files \(at "notes\/\d+\.json"\); gunzip it and give the plain tar, which is read in place$/
    )
    const plain = await tarball('many-json.tar', items)
    expect((await openArchive(plain)).images).toHaveLength(1)
  })

  test("JSON layer blobs (SBOMs, attestations) past the cap are not kept: the gzip'd layout opens and pushes", async () => {
    // Five SPDX documents of 30 KiB as layers, and a limit of 64 KiB on the JSON the first pass keeps.
    const sboms = Array.from({ length: 5 }, (_, i) =>
      Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: `part-${i}`, text: fastNoise(`sbom-${i}`, 15 * 1024).toString('hex') }))
    )
    const config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }))
    const layers = sboms.map((body) => ({ mediaType: 'application/spdx+json', digest: sha256(body), size: body.length }))
    // Written as BuildKit writes manifests (indented), which the first pass keeps whole.
    const manifest = Buffer.from(
      JSON.stringify(
        {
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
          layers
        },
        null,
        3
      )
    )
    const entry = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length }
    const gz = await tarball(
      'json-layers.gz',
      [
        { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
        { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests: [entry] }) },
        ...[...sboms, config, manifest].map((body) => ({ name: blobName(sha256(body)), body }))
      ],
      true
    )
    const limits = { ...FIRST_PASS_LIMITS, keptJsonBytes: 64 * 1024 }
    expect(sboms.reduce((sum, b) => sum + b.length, 0)).toBeGreaterThan(limits.keptJsonBytes)
    const container = await GzipTarContainer.open(gz, spool, limits)
    // A blob not kept is still read whole when asked for, on a second pass.
    expect((await container.readSmall(blobName(sha256(sboms[3])))).equals(sboms[3])).toBe(true)

    const source = new ArchiveLayoutSource(container)
    const registries = new Registries({ credentials: new StaticCredentials([]), plainHttp: false, logger: silentLogger })
    try {
      const stores = new Stores(registries)
      stores.addLocal('archive', gz, source)
      const result = await copyArtifact(
        stores,
        {
          source: { kind: 'archive', path: gz, digest: entry.digest },
          destinations: [parseEndpoint(`${registry.host}/json-layers/app:v1`)],
          maxArtifactSize: UNLIMITED,
          platforms: [parsePlatform('linux/arm64')!]
        },
        lineReporter(silentLogger)
      )
      expect(result.digest).toBe(entry.digest)
    } finally {
      await registries.close()
    }
    expect(await skopeoRaw(`${registry.host}/json-layers/app:v1`)).toBe(manifest.toString())
    for (const sbom of sboms) {
      const res = await fetch(`http://${registry.host}/v2/json-layers/app/blobs/${sha256(sbom)}`)
      expect(Buffer.from(await res.arrayBuffer()).equals(sbom)).toBe(true)
    }
  })

  test('more entries than the index takes: refused, as a plain tar with more is', async () => {
    const items = [...layoutItems(img, 'v1'), ...Array.from({ length: 10 }, (_, i) => ({ name: `n/${i}.json`, body: '{}' }))]
    const gz = await tarball('many-entries.gz', items, true)
    await expect(GzipTarContainer.open(gz, spool, { ...FIRST_PASS_LIMITS, entries: 10 })).rejects.toThrow(
      new ContentError(gz, 'has more than 10 entries')
    )
    expect((await GzipTarContainer.open(gz, spool, { ...FIRST_PASS_LIMITS, entries: items.length })).names()).toHaveLength(items.length)
  })

  test("an OCI layout's uncompressed layers are not deflated to be measured; a legacy docker save's are", async () => {
    // A Docker ≥ 25 docker save: an OCI layout (uncompressed layers under blobs/) with manifest.json beside it.
    const layer = Buffer.concat([Buffer.from('etc/hostname\0'), fastNoise('uncompressed-layer', 256 * 1024)])
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } })
    )
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }]
      })
    )
    const entry = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length }
    const oci = await tarball(
      'docker25-uncompressed.gz',
      [
        { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
        ...[layer, config, manifest].map((body) => ({ name: blobName(sha256(body)), body })),
        {
          name: 'index.json',
          body: JSON.stringify({ schemaVersion: 2, manifests: [{ ...entry, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] })
        },
        {
          name: 'manifest.json',
          body: JSON.stringify([{ Config: blobName(sha256(config)), RepoTags: ['app:v1'], Layers: [blobName(sha256(layer))] }])
        }
      ],
      true
    )
    expect([...(await GzipTarContainer.open(oci, spool)).compressed.keys()]).toEqual([])
    const result = await pushArchive(oci, `${registry.host}/docker25-gz/app`)
    expect(result?.digest).toBe(entry.digest)
    expect(await skopeoRaw(`${registry.host}/docker25-gz/app:v1`)).toBe(manifest.toString())

    const legacy = await tarball(
      'legacy.gz',
      [
        { name: 'abc/layer.tar', body: layer },
        { name: 'config.json', body: config },
        { name: 'manifest.json', body: JSON.stringify([{ Config: 'config.json', RepoTags: ['app:v1'], Layers: ['abc/layer.tar'] }]) }
      ],
      true
    )
    expect([...(await GzipTarContainer.open(legacy, spool)).compressed.keys()]).toEqual(['abc/layer.tar'])
  })
})

describe('choosing what to push', () => {
  test('a tagless layout tarball with one entry needs no tag; destRef gives it one', async () => {
    const path = await tarball('tagless.tar', layoutItems(img))
    const result = await runAction({ archive: path, destRef: `${registry.host}/tagless/app:v1` })
    expect(result.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([])
    expect(await skopeoRaw(`${registry.host}/tagless/app:v1`)).toBe(img.root.bytes.toString())
  })

  test('a Docker ≥ 25 docker save (an OCI layout with manifest.json beside) is read as the OCI layout: byte for byte', async () => {
    const dockerManifest = [
      { Config: blobName(img.blobs[0].digest), RepoTags: ['app:v1'], Layers: img.blobs.slice(1).map((b) => blobName(b.digest)) }
    ]
    const path = await tarball('docker25.tar', [...layoutItems(img, 'v1'), { name: 'manifest.json', body: JSON.stringify(dockerManifest) }])
    const result = await runAction({ archive: path, destRef: `${registry.host}/docker25/app` })
    expect(result.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([])
    expect(result.outputs.digest).toBe(img.root.digest)
    expect(await skopeoRaw(`${registry.host}/docker25/app:v1`)).toBe(img.root.bytes.toString())
  })

  test('an archive holding no image: a warning, nothing pushed, success', async () => {
    const path = await tarball('empty.tar', [
      { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', body: '{"schemaVersion":2,"manifests":[]}' }
    ])
    const result = await runAction({ archive: path, destRef: `${registry.host}/empty/app:v1` })
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain(`::warning::${path} holds no image; nothing was pushed from it`)
    expect(result.outputs.pushed).toBe('[]')
    expect(await listTags(registry.host, 'empty/app')).toEqual([])
  })

  test('platforms matching no image of a docker save: an error naming platforms and what the archive holds, nothing pushed', async () => {
    const layer = Buffer.concat([Buffer.from('etc/hostname\0'), fastNoise('platform-layer', 4096)])
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } })
    )
    const path = await tarball('amd64-only.tar', [
      { name: 'abc/layer.tar', body: layer },
      { name: 'config.json', body: config },
      { name: 'manifest.json', body: JSON.stringify([{ Config: 'config.json', RepoTags: ['team/app:v1'], Layers: ['abc/layer.tar'] }]) }
    ])
    const error = await pushArchive(path, `${registry.host}/no-platform/app`, { platforms: [parsePlatform('linux/arm64')!] }).catch(
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toMatch(
      new RegExp(
        `^platforms: linux/arm64 matches no image in ${path}; it holds sha256:[0-9a-f]{64} application/vnd\\.docker\\.distribution\\.manifest\\.v2\\+json linux/amd64 \\(team/app:v1\\); give platforms that are there$`
      )
    )
    expect(await listTags(registry.host, 'no-platform/app')).toEqual([])
  })

  test('a manifest without mediaType (as umoci writes) in a layout tar: its blobs checked, pushed byte for byte', async () => {
    const json = JSON.parse(img.root.bytes.toString()) as Record<string, unknown>
    delete json.mediaType
    const manifest = Buffer.from(JSON.stringify(json))
    const entry = { mediaType: img.root.mediaType, digest: sha256(manifest), size: manifest.length }
    const items = [
      ...layoutItems(img).filter((item) => item.name !== 'index.json' && item.name !== blobName(img.root.digest)),
      { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests: [entry] }) },
      { name: blobName(entry.digest), body: manifest }
    ]
    const whole = await tarball('no-media-type.tar', items)
    expect((await pushArchive(whole, `${registry.host}/no-media-type/app:v1`))?.digest).toBe(entry.digest)
    expect(await skopeoRaw(`${registry.host}/no-media-type/app:v1`)).toBe(manifest.toString())
    const missing = await tarball(
      'no-media-type-missing.tar',
      items.filter((item) => item.name !== blobName(img.blobs[1].digest))
    )
    await expect(pushArchive(missing, `${registry.host}/no-media-type-missing/app:v1`)).rejects.toThrow(
      `entry "${blobName(img.blobs[1].digest)}" is missing (named by a manifest)`
    )
    expect(await listTags(registry.host, 'no-media-type-missing/app')).toEqual([])
  })

  test('@sha256:… on the path picks one image', async () => {
    const other = image({ seed: 'safety-other' })
    const items = [...layoutItems(img, 'a'), ...layoutItems(other, 'b').slice(2)]
    const index = {
      schemaVersion: 2,
      manifests: [img, other].map((f, i) => ({
        mediaType: f.root.mediaType,
        digest: f.root.digest,
        size: f.root.size,
        annotations: { 'org.opencontainers.image.ref.name': ['a', 'b'][i] }
      }))
    }
    items[1] = { name: 'index.json', body: JSON.stringify(index) }
    const path = await tarball('two.tar', items)
    const result = await runAction({ archive: `${path}@${other.root.digest}`, destRef: `${registry.host}/picked/app:v1` })
    expect(result.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([])
    expect(result.outputs.digest).toBe(other.root.digest)
  })

  test('a directory that is no layout, and a path that does not exist', async () => {
    await expect(openArchive(dir)).rejects.toThrow(InputError)
    await expect(openArchive(join(dir, 'nope.tar'))).rejects.toThrow(/does not exist/)
  })
})
