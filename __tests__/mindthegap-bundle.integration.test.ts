/**
 * mindthegap bundles: a registry:2 storage tree, made by `docker-registry` itself, tarred (and
 * gzip'd) with images.yaml beside it, pushed under a prefix by the bundled action; every
 * repository:tag lands with the digest it has in the tree. Trees the real tools would never
 * write (a link naming a path, a tag outside the grammar, a blob whose bytes are not its digest's)
 * are refused naming the entry, nothing pushed.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 } from '../src/digest.js'
import { GzipTarContainer } from '../src/archive/gzip-container.js'
import { LayerSpool } from '../src/archive/layer-spool.js'
import { openArchive } from '../src/archive/open-archive.js'
import { runAction, type ActionRun } from '../testbed/action.js'
import { helmChart, image, index, listTags, rawManifest } from '../testbed/fixtures.js'
import { mindthegapStorage, storageItems, tarStorage, type BundledArtifact } from '../testbed/mindthegap.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { writeTar, type TarItem } from '../testbed/tarballs.js'
import { requireTools, skopeoPullAll } from '../testbed/tools.js'

const app = image({ seed: 'mtg-app', layers: 2, layerSize: 8 * 1024, docker: true })
const multi = index([image({ seed: 'mtg-amd64' }), image({ seed: 'mtg-arm64', architecture: 'arm64' })])
const chart = helmChart('podinfo', '6.5.0')
const tool = image({ seed: 'mtg-tool', layers: 1 })
const ARTIFACTS: readonly BundledArtifact[] = [
  { repository: 'library/app', tag: '1.0', fixture: app },
  { repository: 'team/multi', tag: 'v1', fixture: multi },
  { repository: 'team/multi', tag: 'latest', fixture: multi },
  { repository: 'charts/podinfo', tag: '6.5.0', fixture: chart },
  // A first component with a dot is a path here, not a host: it is kept under the prefix.
  { repository: 'tools.example/cli', tag: '2.0', fixture: tool }
]
const TREE = 'docker/registry/v2'
const tagLink = (repository: string, tag: string) => `${TREE}/repositories/${repository}/_manifests/tags/${tag}/current/link`
const blobData = (digest: string) => `${TREE}/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`

let dir: string
let storage: string
let target: TestRegistry
const bundles = { tar: '', gz: '', bare: '' }

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  dir = await mkdtemp(join(tmpdir(), 'oci-push-mindthegap-'))
  storage = join(dir, 'storage')
  await mindthegapStorage(storage, ARTIFACTS)
  bundles.tar = join(dir, 'bundle.tar')
  bundles.gz = join(dir, 'bundle.tar.gz')
  bundles.bare = join(dir, 'no-config.tar')
  await tarStorage(storage, bundles.tar)
  await tarStorage(storage, bundles.gz, { gzip: true })
  await tarStorage(storage, bundles.bare, { config: false })
  target = await startRegistry()
}, 120_000)

afterAll(async () => {
  await target?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const errors = (result: ActionRun) => result.stdout.split('\n').filter((line) => line.startsWith('::error'))

/** Every tag of every repository the bundle holds, as the target has it under `prefix`. */
async function tagsUnder(prefix: string): Promise<string[]> {
  const repositories = [...new Set(ARTIFACTS.map((a) => a.repository))]
  const tags: string[] = []
  for (const repository of repositories)
    for (const tag of await listTags(target.host, `${prefix}${repository}`)) tags.push(`${repository}:${tag}`)
  return tags.sort()
}

/** The bundle's tree as tar items, `change` applied: a tree the real tools would never write. */
async function alteredBundle(name: string, change: (items: TarItem[]) => TarItem[], gzip = false): Promise<string> {
  const path = join(dir, name)
  await writeTar(path, change(await storageItems(storage)), { gzip })
  return path
}

describe('a bundle made by docker-registry and tarred', () => {
  test('is read from its tree: each repository:tag, the manifest a tag link names', async () => {
    const opened = await openArchive(bundles.tar)
    expect(opened.kind).toBe('mindthegap bundle (registry storage tar)')
    expect(opened.images.map((i) => [i.name, i.descriptor.digest, i.descriptor.mediaType])).toEqual([
      ['charts/podinfo:6.5.0', chart.root.digest, chart.root.mediaType],
      ['library/app:1.0', app.root.digest, app.root.mediaType],
      ['team/multi:latest', multi.root.digest, multi.root.mediaType],
      ['team/multi:v1', multi.root.digest, multi.root.mediaType],
      ['tools.example/cli:2.0', tool.root.digest, tool.root.mediaType]
    ])
  })

  test.each([
    ['the tar', () => bundles.tar, 'mirror/'],
    ["the gzip'd tar", () => bundles.gz, 'mirror-gz/']
  ])('%s, destRef a prefix: every repository:tag under it, byte for byte', async (_name, bundle, prefix) => {
    const result = await runAction({ archive: bundle(), destRef: `${target.host}/${prefix}` })
    expect(errors(result)).toEqual([])
    expect(result.exitCode).toBe(0)
    expect(await tagsUnder(prefix)).toEqual(ARTIFACTS.map((a) => `${a.repository}:${a.tag}`).sort())
    for (const { repository, tag, fixture } of ARTIFACTS) {
      const pushed = await rawManifest(target.host, `${prefix}${repository}`, tag)
      expect(sha256(Buffer.from(pushed))).toBe(fixture.root.digest)
      expect(pushed).toBe(fixture.root.bytes.toString('utf8'))
    }
    // skopeo reads every blob of every platform back, each checked against its digest.
    await skopeoPullAll(`${target.host}/${prefix}team/multi:v1`)
    await skopeoPullAll(`${target.host}/${prefix}library/app:1.0`)
  })

  test("the gzip'd tar's first pass keeps the tags' links and gzips nothing into the spool (no tree entry is a legacy layer)", async () => {
    const spool = new LayerSpool({ root: dir })
    try {
      const container = await GzipTarContainer.open(bundles.gz, spool)
      expect([...container.compressed.keys()]).toEqual([])
      // A link read now comes from the first pass: a second pass from the top would take as long as the first.
      expect((await container.readSmall(tagLink('library/app', '1.0'))).toString()).toBe(app.root.digest)
    } finally {
      await spool.close()
    }
  })

  test('without images.yaml or charts.yaml beside it: still read by its tree', async () => {
    const opened = await openArchive(bundles.bare)
    expect(opened.kind).toBe('mindthegap bundle (registry storage tar)')
    expect(opened.images).toHaveLength(ARTIFACTS.length)
  })

  test('with index.json at its top too: a bundle all the same, as mindthegap decides (tree and images.yaml)', async () => {
    const path = await alteredBundle('with-index.tar', (items) => [
      ...items,
      { name: 'index.json', body: '{"schemaVersion":2,"manifests":[]}' }
    ])
    expect((await openArchive(path)).kind).toBe('mindthegap bundle (registry storage tar)')
  })
})

describe('trees the real tools would never write are refused naming the entry, nothing pushed', () => {
  const appLink = tagLink('library/app', '1.0')

  test.each([
    ['a path', 'sha256:../../../../../../etc/passwd', 'plain', '"sha256:../../../../../../etc/passwd"'],
    ['a blob data path', blobData(app.root.digest), 'plain', `"${blobData(app.root.digest)}"`],
    ['a digest and a newline', `${app.root.digest}\n`, 'gzip', `"${app.root.digest}\\n"`],
    // Too large to be a link: refused by its size, its bytes never read (a gzip'd tar's first pass keeps none of them).
    ['300 bytes', 'x'.repeat(300), 'gzip', '300 bytes']
  ])('a tag link holding %s', async (name, body, packing, held) => {
    const slug = `${packing}-${name.replace(/\W+/g, '-')}`
    const path = await alteredBundle(
      `link-${slug}.tar`,
      (items) => items.map((item) => (item.name === appLink ? { ...item, body } : item)),
      packing === 'gzip'
    )
    const prefix = `bad-link-${slug}/`
    const result = await runAction({ archive: path, destRef: `${target.host}/${prefix}` })
    expect(result.exitCode).toBe(1)
    expect(errors(result)).toEqual([
      `::error::${path}: entry "${appLink}" holds ${held}, not a digest (algorithm:hex) as a tag's link does; the bundle is damaged or crafted: re-create it`
    ])
    expect(await tagsUnder(prefix)).toEqual([])
  })

  test.each([
    ['a tag with a newline', tagLink('library/app', 'bad\ntag'), /names the tag "bad\\ntag", which does not follow/],
    ['a tag starting with a dash', tagLink('library/app', '-v1'), /names the tag "-v1", which does not follow/],
    ['an upper-case repository', tagLink('Library/App', 'v1'), /names the repository "Library\/App", which does not follow/],
    [
      'a repository with an escape sequence',
      tagLink('library/a\u001b[31mpp', 'v1'),
      /names the repository "library\/a\\u001b\[31mpp", which/
    ]
  ])('%s: refused, shown escaped', async (name, entry, expected) => {
    const slug = name.replace(/\W+/g, '-')
    const path = await alteredBundle(`name-${slug}.tar`, (items) => [...items, { name: entry, body: app.root.digest }])
    const prefix = `bad-name-${slug}/`
    const result = await runAction({ archive: path, destRef: `${target.host}/${prefix}` })
    expect(result.exitCode).toBe(1)
    const lines = errors(result)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(expected)
    // JSON's escapes (`\n`, `\u001b`): the line holds no control character of the name.
    expect(lines[0]).toContain(`${path}: entry ${JSON.stringify(entry)} names the`)
    expect([...lines[0]].filter((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)).toEqual([])
    expect(lines[0]).toMatch(/the distribution spec's grammar; re-create the bundle with names a registry accepts$/)
    expect(await tagsUnder(prefix)).toEqual([])
  })

  test('a layer whose bytes are not its digest (same size): the push fails naming the blob, the tag never written', async () => {
    const layer = app.blobs[1]
    const path = await alteredBundle('tampered.tar', (items) =>
      items.map((item) => {
        if (item.name !== blobData(layer.digest)) return item
        const bytes = Buffer.from(item.body as Buffer)
        bytes[bytes.length - 1] ^= 0xff
        return { ...item, body: bytes }
      })
    )
    const result = await runAction({ archive: path, destRef: `${target.host}/tampered/` })
    expect(result.exitCode).toBe(1)
    expect(errors(result).join('\n')).toMatch(new RegExp(`@${layer.digest}: blob content does not match its digest`))
    expect(await listTags(target.host, 'tampered/library/app')).toEqual([])
  })

  test('a blob a manifest names, missing from the tree: refused naming its entry', async () => {
    const layer = app.blobs[2]
    const path = await alteredBundle('missing.tar', (items) => items.filter((item) => item.name !== blobData(layer.digest)))
    const result = await runAction({ archive: path, destRef: `${target.host}/missing/` })
    expect(result.exitCode).toBe(1)
    expect(errors(result).join('\n')).toContain(`entry "${blobData(layer.digest)}" is missing (named by a manifest)`)
    expect(await tagsUnder('missing/')).toEqual([])
  })
})
