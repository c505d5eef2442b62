/**
 * Archives made by the real tools — skopeo (`oci-archive:`, `docker-archive:` with its symlinked
 * layer.tar), umoci (a layout with several tags), gzip — pushed with the `archive` input as the
 * runner runs the action, and the result checked with skopeo against the archive itself.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 } from '../src/digest.js'
import { runAction, type ActionRun } from '../testbed/action.js'
import { buildahList } from '../testbed/buildah.js'
import { image, index, listTags, pushFixture } from '../testbed/fixtures.js'
import { skopeoExport } from '../testbed/layouts.js'
import { umociLayout } from '../testbed/umoci.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, run, skopeoPullAll, skopeoRaw, type RawManifest } from '../testbed/tools.js'

let registry: TestRegistry
let dir: string
const amd64 = image({ seed: 'archive-amd64', layers: 3, layerSize: 32 * 1024 })
const multi = index([amd64, image({ seed: 'archive-arm64', layers: 2, architecture: 'arm64' })])
const files = { ociArchive: '', dockerArchive: '', ociGz: '', dockerGz: '', umoci: '', notArchive: '' }

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo', 'umoci', 'buildah'])
  registry = await startRegistry()
  dir = await mkdtemp(join(tmpdir(), 'oci-push-archive-'))
  await pushFixture(registry.host, 'seed/multi', multi, 'v1')
  await pushFixture(registry.host, 'seed/single', amd64, 'v1')
  await pushFixture(registry.host, 'seed/arm', image({ seed: 'archive-arm-only', architecture: 'arm64' }), 'v1')
  files.ociArchive = join(dir, 'multi.oci.tar')
  files.dockerArchive = join(dir, 'single.docker.tar')
  await skopeoExport(`${registry.host}/seed/multi:v1`, `oci-archive:${files.ociArchive}:v1`)
  await skopeoExport(`${registry.host}/seed/single:v1`, `docker-archive:${files.dockerArchive}:example.com/team/app:1.0`)
  // The gzip'd versions, named so nothing could be told from the name.
  files.ociGz = join(dir, 'multi-gz.bin')
  files.dockerGz = join(dir, 'single-gz.bin')
  await run('sh', [
    '-c',
    `gzip -n -c '${files.ociArchive}' > '${files.ociGz}' && gzip -n -c '${files.dockerArchive}' > '${files.dockerGz}'`
  ])
  files.umoci = join(dir, 'umoci-layout')
  await umociLayout(files.umoci, ['v1', 'v2'])
  files.notArchive = join(dir, 'notes.txt')
  await writeFile(files.notArchive, 'just some text\n')
}, 120_000)

afterAll(async () => {
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const errors = (result: ActionRun) => result.stdout.split('\n').filter((l) => l.startsWith('::error'))
const digestOf = async (ref: string) => sha256(Buffer.from(await skopeoRaw(ref)))

describe('OCI layout archives', () => {
  test.each([
    ['a skopeo oci-archive', () => files.ociArchive, 'oci'],
    ['its gzip version', () => files.ociGz, 'oci-gz']
  ])('%s: the multi-arch index pushed byte for byte', async (_name, file, repo) => {
    const result = await runAction({ archive: file(), destRef: `${registry.host}/${repo}/app:v1` })
    expect(errors(result)).toEqual([])
    expect(result.outputs.digest).toBe(multi.root.digest)
    expect(await skopeoRaw(`${registry.host}/${repo}/app:v1`)).toBe(
      await run('skopeo', ['inspect', '--raw', `oci-archive:${files.ociArchive}:v1`])
    )
    await skopeoPullAll(`${registry.host}/${repo}/app:v1`)
  })

  test('a multi-arch index buildah wrote to an oci-archive: every platform pushed', async () => {
    const file = join(dir, 'buildah.oci.tar')
    await buildahList([`${registry.host}/seed/single:v1`, `${registry.host}/seed/arm:v1`], `oci-archive:${file}:v1`, 'oci')
    const result = await runAction({ archive: file, destRef: `${registry.host}/buildah/app:v1` })
    expect(errors(result)).toEqual([])
    const expected = await run('skopeo', ['inspect', '--raw', `oci-archive:${file}:v1`])
    expect(await skopeoRaw(`${registry.host}/buildah/app:v1`)).toBe(expected)
    expect((JSON.parse(expected) as RawManifest).manifests).toHaveLength(2)
    await skopeoPullAll(`${registry.host}/buildah/app:v1`)
  })

  test('a layout directory with several tags, destRef without a tag: each image under its own tag', async () => {
    const result = await runAction({ archive: files.umoci, destRef: `${registry.host}/umoci/app` })
    expect(errors(result)).toEqual([])
    expect(await listTags(registry.host, 'umoci/app')).toEqual(['v1', 'v2'])
    for (const tag of ['v1', 'v2']) {
      expect(await skopeoRaw(`${registry.host}/umoci/app:${tag}`)).toBe(
        await run('skopeo', ['inspect', '--raw', `oci:${files.umoci}:${tag}`])
      )
    }
    expect(JSON.parse(result.outputs.pushed)).toHaveLength(2)
  })

  test('several images and a destRef with a tag: an error listing them and how to choose', async () => {
    const result = await runAction({ archive: files.umoci, destRef: `${registry.host}/umoci/app:one` })
    expect(result.exitCode).toBe(1)
    expect(errors(result)).toEqual([
      expect.stringMatching(
        /^::error::destRef: a destination with a tag takes one image, and .* holds 2: sha256:.*\(v1\); sha256:.*\(v2\); choose one with platforms, or with @sha256:/
      )
    ])
  })
})

describe('docker save archives', () => {
  test.each([
    ['a skopeo docker-archive (symlinked layer.tar)', () => files.dockerArchive, 'docker'],
    ['its gzip version', () => files.dockerGz, 'docker-gz']
  ])("%s: layers gzip'd, config as in the archive, the same digests on a re-run", async (_name, file, repo) => {
    const first = await runAction({ archive: file(), destRef: `${registry.host}/${repo}/app` })
    expect(errors(first)).toEqual([])
    // The name comes from RepoTags: example.com/team/app:1.0 → tag 1.0.
    expect(first.outputs.image).toBe(`${registry.host}/${repo}/app:1.0`)
    const pushed = JSON.parse(await skopeoRaw(`${registry.host}/${repo}/app:1.0`)) as RawManifest
    expect(pushed.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json')
    expect(pushed.layers?.every((l) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe(true)
    const archiveConfig = await run('skopeo', ['inspect', '--config', '--raw', `docker-archive:${files.dockerArchive}`])
    expect(await run('skopeo', ['inspect', '--config', '--raw', '--tls-verify=false', `docker://${registry.host}/${repo}/app:1.0`])).toBe(
      archiveConfig
    )
    await skopeoPullAll(`${registry.host}/${repo}/app:1.0`)
    const again = await runAction({ archive: file(), destRef: `${registry.host}/${repo}-again/app` })
    expect(again.outputs.digest).toBe(first.outputs.digest)
    expect(await digestOf(`${registry.host}/${repo}-again/app:1.0`)).toBe(first.outputs.digest)
  })

  test('a prefix keeps each image its own repository path', async () => {
    const result = await runAction({ archive: files.dockerArchive, destRef: `${registry.host}/mirror/` })
    expect(errors(result)).toEqual([])
    expect(result.outputs.image).toBe(`${registry.host}/mirror/team/app:1.0`)
    expect(await listTags(registry.host, 'mirror/team/app')).toEqual(['1.0'])
  })
})

describe('what is not an archive', () => {
  test('a text file: one error naming it and what it looks like', async () => {
    const result = await runAction({ archive: files.notArchive, destRef: `${registry.host}/x/app:v1` })
    expect(result.exitCode).toBe(1)
    expect(errors(result)).toEqual([
      `::error::archive: ${files.notArchive} is not a tar, a gzip'd tar or an OCI layout directory (it starts with "just some text")`
    ])
  })

  test('both srcRef and archive: one error', async () => {
    const result = await runAction({
      srcRef: `${registry.host}/seed/single:v1`,
      archive: files.ociArchive,
      destRef: `${registry.host}/x/app:v1`
    })
    expect(errors(result)).toEqual(['::error::archive: give one of srcRef, archive, path and mirror, not srcRef and archive'])
  })
})
