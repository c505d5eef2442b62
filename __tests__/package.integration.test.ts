/**
 * Packaging with `path` and attaching with `subject`, run as the runner runs the action against a
 * real registry; what was pushed is pulled back (skopeo, plain HTTP, tar) and compared with the
 * source on disk.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { sha256 } from '../src/digest.js'
import { runAction, type ActionRun } from '../testbed/action.js'
import { fastNoise, image, listTags, pushFixture, referrer } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, run, skopeoRaw, type RawManifest } from '../testbed/tools.js'

let registry: TestRegistry
let dir: string
const app = image({ seed: 'package-app' })

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  registry = await startRegistry()
  dir = await mkdtemp(join(tmpdir(), 'oci-push-package-'))
  await pushFixture(registry.host, 'app', app, 'v1')
  // A tree: nested directories, an empty file, an executable, a 200 KB binary.
  const tree = join(dir, 'bundle')
  await mkdir(join(tree, 'config', 'nested'), { recursive: true })
  await writeFile(join(tree, 'config', 'nested', 'app.yaml'), 'replicas: 2\n')
  await writeFile(join(tree, 'empty'), '')
  await writeFile(join(tree, 'run.sh'), '#!/bin/sh\necho hi\n')
  await chmod(join(tree, 'run.sh'), 0o755)
  await writeFile(join(tree, 'blob.bin'), fastNoise('package-binary', 200 * 1024))
  await symlink('config/nested/app.yaml', join(tree, 'app.yaml'))
  // A chart, with a .helmignore.
  const chart = join(dir, 'mychart')
  await mkdir(join(chart, 'templates'), { recursive: true })
  await writeFile(
    join(chart, 'Chart.yaml'),
    '# my chart\napiVersion: v2\nname: mychart\ndescription: A test chart\nversion: 0.1.0\nappVersion: 1.16\nkeywords: [web, 2024]\n'
  )
  await writeFile(join(chart, 'values.yaml'), 'image: nginx\n')
  await writeFile(join(chart, 'templates', 'deployment.yaml'), 'kind: Deployment\n')
  await writeFile(join(chart, 'notes.bak'), 'ignored\n')
  await writeFile(join(chart, '.helmignore'), '# patterns\n*.bak\n')
}, 60_000)

afterAll(async () => {
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const errors = (result: ActionRun) => result.stdout.split('\n').filter((l) => l.startsWith('::error'))

/** The manifest pushed at `ref`, and its only layer unpacked with tar into a fresh directory. */
async function pullLayer(repo: string, ref: string): Promise<{ manifest: RawManifest; unpacked: string; layer: Buffer }> {
  const manifest = JSON.parse(await skopeoRaw(`${registry.host}/${repo}:${ref}`)) as RawManifest
  const digest = manifest.layers?.[0].digest as string
  const res = await fetch(`http://${registry.host}/v2/${repo}/blobs/${digest}`)
  const layer = Buffer.from(await res.arrayBuffer())
  const unpacked = await mkdtemp(join(dir, 'unpacked-'))
  await writeFile(join(unpacked, '..', `${digest.slice(7)}.tgz`), layer)
  await run('tar', ['-xzf', join(unpacked, '..', `${digest.slice(7)}.tgz`), '-C', unpacked])
  return { manifest, unpacked, layer }
}

/** Where a tar's end-of-archive blocks begin: each entry is a 512-byte header, then its data in 512-byte blocks. */
function endOfArchive(tar: Buffer): number {
  let offset = 0
  while (offset < tar.length && tar.subarray(offset, offset + 512).some((byte) => byte !== 0)) {
    const size = parseInt(
      tar
        .subarray(offset + 124, offset + 136)
        .toString('latin1')
        .replace(/\0.*$/, '')
        .trim(),
      8
    )
    offset += 512 + Math.ceil(size / 512) * 512
  }
  return offset
}

describe('a directory', () => {
  test('packaged as oras packs a directory, reproducibly: entries under bundle/, unpack and digest annotations', async () => {
    const inputs = { path: join(dir, 'bundle'), artifactType: 'application/vnd.example.bundle.v1', destRef: `${registry.host}/bundle:v1` }
    const first = await runAction(inputs)
    expect(errors(first)).toEqual([])
    const { manifest, unpacked, layer } = await pullLayer('bundle', 'v1')
    expect(manifest.config?.mediaType).toBe('application/vnd.oci.empty.v1+json')
    expect((manifest as { artifactType?: string }).artifactType).toBe('application/vnd.example.bundle.v1')
    expect(manifest.layers?.[0]).toMatchObject({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: layer.length })
    // What oras-go's file store reads: the title names the directory, unpack says to untar it, and
    // the digest is checked against the uncompressed tar as it is unpacked. Keys sorted, as oras writes them.
    const annotations = (manifest.layers?.[0] as { annotations?: Record<string, string> }).annotations ?? {}
    expect(Object.entries(annotations)).toEqual([
      ['io.deis.oras.content.digest', sha256(gunzipSync(layer))],
      ['io.deis.oras.content.unpack', 'true'],
      ['org.opencontainers.image.title', 'bundle']
    ])
    // oras hashes what Go's tar reader reads, which stops at the two zero blocks ending the archive.
    const tar = gunzipSync(layer)
    expect(tar.length).toBe(endOfArchive(tar) + 1024)
    const tgz = join(unpacked, '..', `${manifest.layers?.[0].digest.slice(7)}.tgz`)
    const names = (await run('tar', ['-tzf', tgz])).trim().split('\n')
    expect(names[0]).toBe('bundle/')
    expect(names.filter((name) => !name.startsWith('bundle/'))).toEqual([])
    expect(names).toEqual(expect.arrayContaining(['bundle/config/', 'bundle/config/nested/app.yaml', 'bundle/run.sh', 'bundle/app.yaml']))
    await run('diff', ['-r', join(dir, 'bundle'), join(unpacked, 'bundle')])
    expect(await readlink(join(unpacked, 'bundle', 'app.yaml'))).toBe('config/nested/app.yaml')
    const listing = await run('tar', ['-tvzf', tgz])
    expect(listing).toMatch(/-rwxr-xr-x 0\/0 .* bundle\/run\.sh/)
    expect(listing).toMatch(/1970-01-01/)
    await utimes(join(dir, 'bundle', 'empty'), new Date(), new Date())
    const second = await runAction({ ...inputs, destRef: `${registry.host}/bundle:v2` })
    expect(second.outputs.digest).toBe(first.outputs.digest)
  })

  test('a single JSON file: one layer of its bytes, application/json', async () => {
    const file = join(dir, 'sbom.json')
    await writeFile(file, JSON.stringify({ spdxVersion: 'SPDX-2.3' }))
    const result = await runAction({ path: file, artifactType: 'application/spdx+json', destRef: `${registry.host}/files/sbom:v1` })
    expect(errors(result)).toEqual([])
    const manifest = JSON.parse(await skopeoRaw(`${registry.host}/files/sbom:v1`)) as RawManifest
    expect(manifest.layers?.[0]).toMatchObject({
      mediaType: 'application/json',
      digest: sha256(await readFile(file)),
      annotations: { 'org.opencontainers.image.title': 'sbom.json' }
    })
  })
})

describe('Helm charts', () => {
  test('a chart directory pushed with a tag that differs from its version', async () => {
    const before = await readFile(join(dir, 'mychart', 'Chart.yaml'), 'utf8')
    const result = await runAction({ path: join(dir, 'mychart'), destRef: `${registry.host}/charts/mychart:1.0.0+build.5` })
    expect(errors(result)).toEqual([])
    expect(result.stdout).toContain('::notice::destRef tag 1.0.0+build.5 is written 1.0.0_build.5')
    expect(result.outputs.tag).toBe('1.0.0_build.5')
    const { manifest, unpacked } = await pullLayer('charts/mychart', '1.0.0_build.5')
    expect(manifest.config?.mediaType).toBe('application/vnd.cncf.helm.config.v1+json')
    expect(manifest.layers?.[0].mediaType).toBe('application/vnd.cncf.helm.chart.content.v1.tar+gzip')
    expect(manifest.annotations).toEqual({
      'org.opencontainers.image.title': 'mychart',
      'org.opencontainers.image.version': '1.0.0+build.5',
      'org.opencontainers.image.description': 'A test chart'
    })
    // Typed as Helm's chart.Metadata, which helm pull decodes it into: appVersion: 1.16 is a string.
    const config = await fetch(`http://${registry.host}/v2/charts/mychart/blobs/${manifest.config?.digest}`).then((r) => r.text())
    expect(config).toBe(
      '{"name":"mychart","version":"1.0.0+build.5","description":"A test chart","keywords":["web","2024"],"apiVersion":"v2","appVersion":"1.16"}'
    )
    expect(await readFile(join(unpacked, 'mychart', 'Chart.yaml'), 'utf8')).toMatch(/^version: 1\.0\.0\+build\.5$/m)
    expect(await readFile(join(unpacked, 'mychart', 'values.yaml'), 'utf8')).toBe('image: nginx\n')
    await expect(readFile(join(unpacked, 'mychart', 'notes.bak'))).rejects.toThrow()
    expect(await readFile(join(dir, 'mychart', 'Chart.yaml'), 'utf8')).toBe(before)
  })

  test('links in a chart are packaged as the files they point to, as helm package does', async () => {
    const chart = join(dir, 'linkchart')
    await mkdir(join(chart, 'files', 'crds'), { recursive: true })
    await mkdir(join(chart, 'templates'))
    await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: linkchart\nversion: 1.0.0\n')
    await writeFile(join(chart, 'files', 'cm.yaml'), 'kind: ConfigMap\n')
    await writeFile(join(chart, 'files', 'crds', 'crd.yaml'), 'kind: CustomResourceDefinition\n')
    await symlink('../files/cm.yaml', join(chart, 'templates', 'cm.yaml'))
    await symlink('files/crds', join(chart, 'crds'))
    const result = await runAction({ path: chart, destRef: `${registry.host}/charts/linkchart` })
    expect(errors(result)).toEqual([])
    const { manifest, unpacked } = await pullLayer('charts/linkchart', '1.0.0')
    const listing = await run('tar', ['-tvzf', join(unpacked, '..', `${manifest.layers?.[0].digest.slice(7)}.tgz`)])
    expect(listing.split('\n').filter((line) => line.startsWith('l'))).toEqual([])
    expect(await readFile(join(unpacked, 'linkchart', 'templates', 'cm.yaml'), 'utf8')).toBe('kind: ConfigMap\n')
    expect(await readFile(join(unpacked, 'linkchart', 'crds', 'crd.yaml'), 'utf8')).toBe('kind: CustomResourceDefinition\n')

    // A link out of the chart (a monorepo's shared templates): followed, as helm package follows it, with a notice.
    await writeFile(join(dir, 'shared.yaml'), 'kind: Service\n')
    await symlink('../../shared.yaml', join(chart, 'templates', 'shared.yaml'))
    const linked = await runAction({ path: chart, destRef: `${registry.host}/charts/linkchart:1.0.0` })
    expect(errors(linked)).toEqual([])
    expect(linked.stdout).toMatch(
      /^::notice::templates\/shared\.yaml is a symlink to \.\.\/\.\.\/shared\.yaml, outside the chart: \/.*\/shared\.yaml is packaged in its place, as helm package does$/m
    )
    const pulled = await pullLayer('charts/linkchart', '1.0.0')
    expect(await readFile(join(pulled.unpacked, 'linkchart', 'templates', 'shared.yaml'), 'utf8')).toBe('kind: Service\n')
  })

  test.each([
    ['latest', (host: string) => `${host}/charts/mychart:latest`],
    ['main, on the second destination', (host: string) => `${host}/charts/mychart:0.1.0\n${host}/charts/other:main`]
  ])('a tag that is no chart version (%s): an error naming destRef, nothing pushed', async (_name, destRef) => {
    const result = await runAction({ path: join(dir, 'mychart'), destRef: destRef(registry.host) })
    expect(result.exitCode).toBe(1)
    expect(errors(result)).toEqual([
      expect.stringMatching(/^::error::destRef: the tag (latest|main) is not a chart version: Helm needs SemVer 2/)
    ])
    expect(await listTags(registry.host, 'charts/other')).toEqual([])
  })

  test('no tag: the chart version is the tag', async () => {
    const result = await runAction({ path: join(dir, 'mychart'), destRef: `${registry.host}/charts/plain` })
    expect(errors(result)).toEqual([])
    expect(await listTags(registry.host, 'charts/plain')).toEqual(['0.1.0'])
  })

  test("a .tgz in helm package's layout is pushed byte for byte", async () => {
    const tgz = join(dir, 'mychart-0.1.0.tgz')
    await run('tar', ['-czf', tgz, '-C', dir, '--exclude=*.bak', 'mychart'])
    const result = await runAction({ path: tgz, destRef: `${registry.host}/charts/packaged` })
    expect(errors(result)).toEqual([])
    const manifest = JSON.parse(await skopeoRaw(`${registry.host}/charts/packaged:0.1.0`)) as RawManifest
    expect(manifest.layers?.[0].digest).toBe(sha256(await readFile(tgz)))
    const wrongTag = await runAction({ path: tgz, destRef: `${registry.host}/charts/packaged:9.9.9` })
    expect(errors(wrongTag)).toEqual([
      expect.stringMatching(/^::error::destRef: the tag 9\.9\.9 differs from the packaged chart's version 0\.1\.0/)
    ])
  })
})

describe('subject: attaching a referrer', () => {
  test("an SBOM attached to an image: subject set, the sha256-<hex> index lists it, the image's tag untouched", async () => {
    const file = join(dir, 'attach.spdx.json')
    await writeFile(file, JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'app' }))
    const result = await runAction({ path: file, artifactType: 'application/spdx+json', subject: `${registry.host}/app:v1` })
    expect(errors(result)).toEqual([])
    expect(result.outputs.image).toBe(`${registry.host}/app@${result.outputs.digest}`)
    const referrer = JSON.parse(await skopeoRaw(`${registry.host}/app@${result.outputs.digest}`)) as RawManifest
    expect(referrer.subject).toEqual({ mediaType: app.root.mediaType, digest: app.root.digest, size: app.root.size })
    const index = JSON.parse(await skopeoRaw(`${registry.host}/app:${app.root.digest.replace(':', '-')}`)) as {
      manifests: Array<Record<string, unknown>>
    }
    expect(index.manifests).toEqual([
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: result.outputs.digest,
        size: Number(result.outputs.size),
        artifactType: 'application/spdx+json'
      }
    ])
    expect(await skopeoRaw(`${registry.host}/app:v1`)).toBe(app.root.bytes.toString())
    // Attaching another keeps the first; attaching the same again adds no duplicate.
    const other = join(dir, 'attach2.json')
    await writeFile(other, '{"sig":true}')
    await runAction({ path: other, artifactType: 'application/vnd.example.sig.v1+json', subject: `${registry.host}/app:v1` })
    await runAction({ path: file, artifactType: 'application/spdx+json', subject: `${registry.host}/app:v1` })
    const after = JSON.parse(await skopeoRaw(`${registry.host}/app:${app.root.digest.replace(':', '-')}`)) as { manifests: unknown[] }
    expect(after.manifests).toHaveLength(2)
  })
})

describe('bad path inputs', () => {
  test.each([
    [
      'a missing path',
      { path: '/nonexistent/thing', artifactType: 'application/x-a', destRef: 'r.io/a:v1' },
      /^::error::path: \/nonexistent\/thing does not exist$/
    ],
    [
      'path and srcRef',
      { path: '/tmp', srcRef: 'r.io/a:v1', destRef: 'r.io/b:v1' },
      /^::error::path: give one of srcRef, archive, path and mirror, not srcRef and path$/
    ],
    [
      'a directory without artifactType',
      { path: '__DIR__', destRef: '__REG__/x:v1' },
      /^::error::artifactType: required to package a directory/
    ],
    [
      'an artifactType that is no media type',
      { path: '__DIR__', artifactType: 'sbom', destRef: '__REG__/x:v1' },
      /^::error::artifactType: "sbom" is not a media type/
    ],
    [
      'subject without path',
      { srcRef: 'r.io/a:v1', subject: 'r.io/a:v1', destRef: 'r.io/b' },
      /^::error::subject: attaches what path packages; set path too$/
    ]
  ])('%s: one error naming the input', async (_name, inputs, line) => {
    const resolved = Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [k, v.replace('__DIR__', join(dir, 'bundle')).replace('__REG__', registry.host)])
    )
    const result = await runAction(resolved)
    expect(result.exitCode).toBe(1)
    expect(errors(result)).toHaveLength(1)
    expect(errors(result)[0]).toMatch(line)
  })
})

describe('referrers: true on a copy', () => {
  test('an SBOM (tag schema) and a cosign .sig tag come along to another registry', async () => {
    const other = await startRegistry()
    try {
      const promoted = image({ seed: 'promote-me' })
      await pushFixture(registry.host, 'promote', promoted, 'v1')
      const sbomFile = join(dir, 'promote.spdx.json')
      await writeFile(sbomFile, '{"spdxVersion":"SPDX-2.3","name":"promote"}')
      const attached = await runAction({ path: sbomFile, artifactType: 'application/spdx+json', subject: `${registry.host}/promote:v1` })
      expect(errors(attached)).toEqual([])
      const signature = referrer(promoted.root, 'application/vnd.dev.cosign.simplesigning.v1+json')
      const sigTag = `${promoted.root.digest.replace(':', '-')}.sig`
      await pushFixture(registry.host, 'promote', signature, sigTag)

      const result = await runAction({ srcRef: `${registry.host}/promote:v1`, destRef: `${other.host}/promoted:v1`, referrers: 'true' })
      expect(errors(result)).toEqual([])
      const index = JSON.parse(await skopeoRaw(`${other.host}/promoted:${promoted.root.digest.replace(':', '-')}`)) as {
        manifests: Array<{ digest: string; artifactType?: string }>
      }
      expect(index.manifests).toEqual([expect.objectContaining({ digest: attached.outputs.digest, artifactType: 'application/spdx+json' })])
      expect(sha256(Buffer.from(await skopeoRaw(`${other.host}/promoted@${attached.outputs.digest}`)))).toBe(attached.outputs.digest)
      expect(await skopeoRaw(`${other.host}/promoted:${sigTag}`)).toBe(signature.root.bytes.toString())
      expect(result.summary).toContain('Referrer copied')
      expect(result.summary).toContain(attached.outputs.digest)
      // Without referrers: true, none of it moves.
      await runAction({ srcRef: `${registry.host}/promote:v1`, destRef: `${other.host}/plain:v1` })
      expect(await listTags(other.host, 'plain')).toEqual(['v1'])
    } finally {
      await other.stop()
    }
  })
})
