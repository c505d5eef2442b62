/**
 * What the bench copies: large images of incompressible layers, the 4-platform index of small
 * layers, legacy `docker save` tarballs (of noise, and of this machine's own files, built once and
 * kept), and repositories of many small tags for the mirror.
 */
import { createHash } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fastNoise, index, makeBlob, pushFixture, sha256, type Blob, type Fixture } from '../testbed/fixtures.js'
import { writeTar } from '../testbed/tarballs.js'
import { run } from '../testbed/tools.js'

export const MiB = 1024 * 1024

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'

function descriptorOf(blob: Blob): { mediaType: string; digest: string; size: number } {
  return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size }
}

/** An image whose layers are incompressible bytes of the given sizes (their media type says gzip; nothing checks). */
export function bigImage(seed: string, sizes: readonly number[], architecture = 'amd64'): Fixture {
  const layers = sizes.map((size, i) => makeBlob(OCI_LAYER, fastNoise(`${seed}/${i}`, size)))
  const config = makeBlob(
    OCI_CONFIG,
    Buffer.from(JSON.stringify({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }))
  )
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptorOf(config), layers: layers.map(descriptorOf) }
  return { root: makeBlob(OCI_MANIFEST, Buffer.from(JSON.stringify(manifest))), children: [], blobs: [config, ...layers] }
}

/** The index: 4 platforms × (config + 4 layers of 256 KiB). */
export function multiPlatformIndex(): Fixture {
  const sizes = [256 * 1024, 256 * 1024, 256 * 1024, 256 * 1024]
  return index(['amd64', 'arm64', 's390x', 'ppc64le'].map((arch) => bigImage(`bench-${arch}`, sizes, arch)))
}

/** A legacy `docker save` tarball (uncompressed layers, `manifest.json` with `RepoTags`) of the given layer sizes. */
export async function writeDockerSave(path: string, sizes: readonly number[]): Promise<void> {
  const layers = sizes.map((size, i) => fastNoise(`bench-save/${i}`, size))
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } })
  )
  await writeTar(path, [
    ...layers.map((body, i) => ({ name: `l${i}/layer.tar`, body })),
    { name: 'config.json', body: config },
    {
      name: 'manifest.json',
      body: JSON.stringify([{ Config: 'config.json', RepoTags: ['bench/save:v1'], Layers: layers.map((_, i) => `l${i}/layer.tar`) }])
    }
  ])
}

/**
 * GNU tar options that make a tar of the same files the same bytes: names sorted, owners and
 * times fixed, no access or change times in the pax headers (as `docker save` layers carry none).
 */
const SAME_BYTES = [
  '--sort=name',
  '--mtime=@0',
  '--owner=0',
  '--group=0',
  '--numeric-owner',
  '--format=posix',
  '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime'
]

/**
 * A legacy `docker save` tarball of real files at `path`, built once and kept: one uncompressed
 * layer per directory (its files under their own path, `usr/bin/…`, as an image holds them), a
 * config listing their digests, and `manifest.json` naming the image `bench/files:v1`. Later
 * runs reuse the file, so the layers stay the same even when the directories change.
 */
export async function cachedDockerSaveOf(path: string, directories: readonly string[]): Promise<void> {
  if (existsSync(path)) return
  const parts = `${path}.parts`
  await rm(parts, { recursive: true, force: true })
  const layers = directories.map((_, i) => `l${i}/layer.tar`)
  const diffIds: string[] = []
  for (const [i, directory] of directories.entries()) {
    await mkdir(join(parts, `l${i}`), { recursive: true })
    await run('tar', ['--create', `--file=${join(parts, layers[i])}`, ...SAME_BYTES, '-C', '/', directory.replace(/^\/+/, '')])
    diffIds.push(await fileDigest(join(parts, layers[i])))
  }
  const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }
  await writeFile(join(parts, 'config.json'), JSON.stringify(config))
  await writeFile(join(parts, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['bench/files:v1'], Layers: layers }]))
  await mkdir(dirname(path), { recursive: true })
  // The outer tar as docker save writes it: short names, plain ustar headers.
  const outer = [...SAME_BYTES.filter((o) => !o.startsWith('--format') && !o.startsWith('--pax')), '--format=ustar']
  await run('tar', ['--create', `--file=${path}.partial`, ...outer, '-C', parts, 'manifest.json', 'config.json', ...layers])
  await rename(`${path}.partial`, path)
  await rm(parts, { recursive: true, force: true })
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk as Buffer)
  return `sha256:${hash.digest('hex')}`
}

/**
 * `count` tags in one repository, pushed once so that setting up hundreds of tags takes seconds:
 * each its own small manifest (an annotation tells them apart) over one shared config and layer,
 * or with `distinct: false` one manifest under every tag.
 */
export async function pushManyTags(host: string, repository: string, count: number, options = { distinct: true }): Promise<string[]> {
  const shared = bigImage('bench-tags', [1024])
  await pushFixture(host, repository, shared)
  const manifest = JSON.parse(shared.root.bytes.toString('utf8')) as Record<string, unknown>
  const tags = Array.from({ length: count }, (_, i) => `1.0.${i}`)
  const rootOf = (tag: string) =>
    options.distinct ? makeBlob(OCI_MANIFEST, Buffer.from(JSON.stringify({ ...manifest, annotations: { 'bench.tag': tag } }))) : shared.root
  for (let i = 0; i < tags.length; i += 50) {
    await Promise.all(
      tags.slice(i, i + 50).map((tag) => pushFixture(host, repository, { root: rootOf(tag), children: [], blobs: [] }, tag))
    )
  }
  return tags
}
