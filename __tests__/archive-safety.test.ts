/**
 * Archives the real tools would never write, built entry by entry: each is refused with the
 * entry's name, before anything is pushed. And tagless, empty and gzip-bomb cases.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { openArchive } from '../src/archive/open-archive.js'
import { ContentError, InputError } from '../src/errors.js'
import { runAction } from '../testbed/action.js'
import { image, listTags, type Fixture } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { writeTar, type TarItem } from '../testbed/tarballs.js'
import { requireTools, skopeoRaw } from '../testbed/tools.js'

let dir: string
let registry: TestRegistry
const img = image({ seed: 'safety', layers: 2, layerSize: 4096 })

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  dir = await mkdtemp(join(tmpdir(), 'oci-push-safety-'))
  registry = await startRegistry()
})

afterAll(async () => {
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
