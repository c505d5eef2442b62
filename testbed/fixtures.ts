/**
 * Artifacts built in memory for the tests and the demo, and a minimal pusher of its own (plain
 * fetch, monolithic uploads) so fixtures do not depend on the code under test.
 */
import { createCipheriv, createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'

export interface Blob {
  mediaType: string
  digest: string
  size: number
  bytes: Buffer
}

export interface Fixture {
  /** Root manifest. */
  root: Blob
  /** Manifests below the root, children first. */
  children: Blob[]
  blobs: Blob[]
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

export function makeBlob(mediaType: string, bytes: Buffer): Blob {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes }
}

export function descriptor(blob: Blob, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size, ...extra }
}

/**
 * How a tool writes its JSON: compact (our own code, crane), `indented` as BuildKit and `docker
 * push` do (Go's `json.MarshalIndent` with three spaces), or `newline`-terminated as Go's
 * `json.Encoder` and umoci do.
 */
export type JsonFormat = 'compact' | 'indented' | 'newline'

export const JSON_FORMATS: readonly JsonFormat[] = ['compact', 'indented', 'newline']

function json(value: unknown, format: JsonFormat = 'compact'): Buffer {
  if (format === 'indented') return Buffer.from(JSON.stringify(value, null, 3))
  return Buffer.from(JSON.stringify(value) + (format === 'newline' ? '\n' : ''))
}

/** Deterministic bytes that do not compress: a hash chain from `seed`. */
export function noise(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size)
  let block = createHash('sha256').update(seed).digest()
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset)
    block = createHash('sha256').update(block).digest()
  }
  return out
}

/** Deterministic incompressible bytes, fast enough for hundreds of MiB: AES-CTR over zeros, keyed by `seed`. */
export function fastNoise(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()])
}

export interface ImageOptions {
  seed: string
  layers?: number
  layerSize?: number
  os?: string
  architecture?: string
  variant?: string
  docker?: boolean
  /** How the manifest and config are written. */
  format?: JsonFormat
}

/** An image with real gzip layers and a config whose diff_ids match them. */
export function image(options: ImageOptions): Fixture {
  const { seed, layers = 2, layerSize = 1024, os = 'linux', architecture = 'amd64', variant, docker = false, format } = options
  const layerType = docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip'
  const raw = Array.from({ length: layers }, (_, i) => noise(`${seed}/layer${i}`, layerSize))
  const layerBlobs = raw.map((bytes) => makeBlob(layerType, gzipSync(bytes)))
  const config = makeBlob(
    docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json',
    json(
      {
        created: '2024-01-01T00:00:00Z',
        architecture,
        os,
        ...(variant ? { variant } : {}),
        config: { Labels: { seed } },
        rootfs: { type: 'layers', diff_ids: raw.map(sha256) }
      },
      format
    )
  )
  const root = makeBlob(
    docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json',
    json(
      {
        schemaVersion: 2,
        mediaType: docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json',
        config: descriptor(config),
        layers: layerBlobs.map((l) => descriptor(l))
      },
      format
    )
  )
  return { root, children: [], blobs: [config, ...layerBlobs] }
}

/** An OCI index (or Docker manifest list) over images, each with its platform, or over indexes. */
export function index(
  images: Fixture[],
  options: { docker?: boolean; annotations?: Record<string, string>; format?: JsonFormat } = {}
): Fixture {
  const mediaType = options.docker ? 'application/vnd.docker.distribution.manifest.list.v2+json' : 'application/vnd.oci.image.index.v1+json'
  const manifests = images.map((img) => {
    // A nested index has no platform of its own.
    if (img.root.mediaType.includes('index') || img.root.mediaType.includes('list')) return descriptor(img.root)
    const config = JSON.parse(img.blobs[0].bytes.toString('utf8')) as { os: string; architecture: string; variant?: string }
    const platform = { architecture: config.architecture, os: config.os, ...(config.variant ? { variant: config.variant } : {}) }
    return descriptor(img.root, { platform })
  })
  const root = makeBlob(
    mediaType,
    json({ schemaVersion: 2, mediaType, manifests, ...(options.annotations ? { annotations: options.annotations } : {}) }, options.format)
  )
  return {
    root,
    children: images.flatMap((img) => [...img.children, img.root]),
    blobs: images.flatMap((img) => img.blobs)
  }
}

/** A Helm chart as `helm push` stores it: Helm config and one chart layer. */
export function helmChart(name: string, version: string): Fixture {
  const config = makeBlob('application/vnd.cncf.helm.config.v1+json', json({ name, version, apiVersion: 'v2', description: 'test chart' }))
  const chart = makeBlob('application/vnd.cncf.helm.chart.content.v1.tar+gzip', gzipSync(noise(`${name}-${version}`, 2048)))
  const root = makeBlob(
    'application/vnd.oci.image.manifest.v1+json',
    json({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: descriptor(config),
      layers: [descriptor(chart)],
      annotations: { 'org.opencontainers.image.version': version }
    })
  )
  return { root, children: [], blobs: [config, chart] }
}

/** An OCI 1.1 artifact (an SBOM, say) with `artifactType`, the empty config and a `subject`. */
export function referrer(subject: Blob, artifactType = 'application/vnd.example.sbom.v1+json'): Fixture {
  const empty = makeBlob('application/vnd.oci.empty.v1+json', Buffer.from('{}'))
  const payload = makeBlob(artifactType, json({ sbom: subject.digest }))
  const root = makeBlob(
    'application/vnd.oci.image.manifest.v1+json',
    json({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType,
      config: descriptor(empty),
      layers: [descriptor(payload)],
      subject: descriptor(subject)
    })
  )
  return { root, children: [], blobs: [empty, payload] }
}

/** A Docker image whose last layer is foreign: referenced by URL, never uploaded anywhere. */
export function imageWithForeignLayer(seed: string): Fixture & { foreign: Record<string, unknown> } {
  const base = image({ seed, layers: 1, docker: true })
  const foreignBytes = noise(`${seed}/foreign`, 512)
  const foreign = {
    mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
    digest: sha256(foreignBytes),
    size: 512,
    urls: ['https://example.invalid/layer.tar.gz']
  }
  const manifest = JSON.parse(base.root.bytes.toString('utf8')) as { layers: unknown[] }
  manifest.layers.push(foreign)
  return { ...base, root: makeBlob(base.root.mediaType, json(manifest)), foreign }
}

export interface PushOptions {
  credentials?: { username: string; password: string }
}

function authHeaders(options: PushOptions): Record<string, string> {
  const c = options.credentials
  return c ? { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` } : {}
}

/** Pushes a fixture to `host/repository` (blobs, children, root, then `tag` if given). */
export async function pushFixture(
  host: string,
  repository: string,
  fixture: Fixture,
  tag?: string,
  options: PushOptions = {}
): Promise<void> {
  const headers = authHeaders(options)
  const base = `http://${host}/v2/${repository}`
  for (const blob of fixture.blobs) {
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers })
    await start.arrayBuffer()
    if (start.status !== 202) throw new Error(`seed: upload start ${start.status}`)
    const location = new URL(start.headers.get('location') ?? '', `http://${host}`)
    location.searchParams.set('digest', blob.digest)
    const put = await fetch(location, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: blob.bytes
    })
    await put.arrayBuffer()
    if (put.status !== 201) throw new Error(`seed: upload ${blob.digest} ${put.status}`)
  }
  for (const manifest of [...fixture.children, fixture.root]) {
    await putManifest(`${base}/manifests/${manifest.digest}`, manifest, headers)
  }
  if (tag) await putManifest(`${base}/manifests/${tag}`, fixture.root, headers)
}

async function putManifest(url: string, manifest: Blob, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { method: 'PUT', headers: { ...headers, 'content-type': manifest.mediaType }, body: manifest.bytes })
  const text = await res.text()
  if (res.status !== 201) throw new Error(`seed: manifest PUT ${url} ${res.status} ${text}`)
}

/** sha256 of a blob as the registry serves it, or undefined when it is not there. */
export async function blobDigest(host: string, repository: string, digest: string, options: PushOptions = {}): Promise<string | undefined> {
  const headers = authHeaders(options)
  const res = await fetch(`http://${host}/v2/${repository}/blobs/${digest}`, { headers })
  const bytes = Buffer.from(await res.arrayBuffer())
  return res.status === 200 ? sha256(bytes) : undefined
}

/** Manifest bytes as the registry serves them (for hosts skopeo 1.9 cannot parse, like [::1]). */
export async function rawManifest(host: string, repository: string, reference: string): Promise<string> {
  const accept =
    'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json'
  const res = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, { headers: { accept } })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`manifest ${host}/${repository}:${reference}: ${res.status}`)
  return text
}

/**
 * Tags of a repository: [] only when the registry says it has none (an empty list, or 404
 * NAME_UNKNOWN for a repository never written); any other answer is an error, so a "no tag was
 * written" check cannot pass on a 401 or a 5xx.
 */
export async function listTags(host: string, repository: string, options: PushOptions = {}): Promise<string[]> {
  const headers = authHeaders(options)
  const res = await fetch(`http://${host}/v2/${repository}/tags/list`, { headers })
  const text = await res.text()
  if (res.status === 200) return ((JSON.parse(text) as { tags?: string[] | null }).tags ?? []).sort()
  if (res.status === 404 && text.includes('NAME_UNKNOWN')) return []
  throw new Error(`tags of ${host}/${repository}: HTTP ${res.status} ${text}`)
}
