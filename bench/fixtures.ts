/**
 * What the bench copies: large images of incompressible layers, the 4-platform index of small
 * layers, a legacy `docker save` tarball, and a repository of many small tags for the mirror.
 */
import { fastNoise, index, makeBlob, pushFixture, sha256, type Blob, type Fixture } from '../testbed/fixtures.js'
import { writeTar } from '../testbed/tarballs.js'

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
 * `count` tags in one repository, each its own small manifest (an annotation tells them apart)
 * over one shared config and layer: pushed once, so setting up hundreds of tags takes seconds.
 */
export async function pushManyTags(host: string, repository: string, count: number): Promise<string[]> {
  const shared = bigImage('bench-tags', [1024])
  await pushFixture(host, repository, shared)
  const manifest = JSON.parse(shared.root.bytes.toString('utf8')) as Record<string, unknown>
  const tags = Array.from({ length: count }, (_, i) => `1.0.${i}`)
  for (let i = 0; i < tags.length; i += 20) {
    await Promise.all(
      tags.slice(i, i + 20).map((tag) => {
        const root = makeBlob(OCI_MANIFEST, Buffer.from(JSON.stringify({ ...manifest, annotations: { 'bench.tag': tag } })))
        return pushFixture(host, repository, { root, children: [], blobs: [] }, tag)
      })
    )
  }
  return tags
}
