/**
 * Manifests and indexes as the copy needs them: validated JSON, the descriptors they reference,
 * and the media type they are stored under. The bytes themselves are never re-serialised: a copy
 * pushes exactly what it fetched.
 */
import { ContentError } from './errors.js'
import { isDigest } from './digest.js'
import { baseMediaType, isSchema1, manifestKind, OCI_INDEX, OCI_MANIFEST, type ManifestKind } from './media-types.js'

/** Hard cap for any manifest or JSON document we read (DESIGN §7; distribution's own limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  'os.features'?: string[]
}

/** image-spec descriptor.md: the fields a copy uses; unknown fields stay in the bytes untouched. */
export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  urls?: string[]
  annotations?: Record<string, string>
  platform?: Platform
  artifactType?: string
}

interface ManifestCommon {
  /** Media type from the `mediaType` field, else the `Content-Type` it was served with. */
  mediaType: string
  subject?: Descriptor
  annotations?: Record<string, string>
  artifactType?: string
}

export interface IndexManifest extends ManifestCommon {
  kind: 'index'
  manifests: Descriptor[]
}

export interface ImageManifest extends ManifestCommon {
  kind: 'image'
  config: Descriptor
  layers: Descriptor[]
}

export type Manifest = IndexManifest | ImageManifest

/**
 * Parses and validates manifest bytes. `contentType` is the header they came with (or the
 * descriptor's media type), used when the JSON has no `mediaType` (umoci writes none). Throws
 * {@link ContentError} naming `where` for anything a copy could not handle safely, including
 * Docker schema 1.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, where: string): Manifest {
  const fail = (problem: string): never => {
    throw new ContentError(where, problem)
  }
  if (bytes.length > MAX_MANIFEST_BYTES) fail(`manifest is larger than ${MAX_MANIFEST_BYTES} bytes`)
  let json: unknown
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch {
    fail('manifest is not valid JSON')
  }
  if (!isObject(json)) return fail('manifest is not a JSON object')

  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined
  const served = baseMediaType(contentType)
  if (isSchema1(declared) || isSchema1(served) || json.schemaVersion === 1) {
    fail(
      'Docker schema 1 manifests are not supported; push the image again with a current Docker or convert it (skopeo copy --format v2s2)'
    )
  }
  if (json.schemaVersion !== 2) fail('manifest has no schemaVersion 2')

  const mediaType = declared ?? (manifestKind(served) ? served : undefined) ?? guessMediaType(json, fail)
  const kind: ManifestKind = manifestKind(mediaType) ?? fail(`unsupported manifest media type "${mediaType}"`)

  const common: ManifestCommon = {
    mediaType,
    ...(json.subject !== undefined ? { subject: parseDescriptor(json.subject, 'subject', fail) } : {}),
    ...(isObject(json.annotations) ? { annotations: json.annotations as Record<string, string> } : {}),
    ...(typeof json.artifactType === 'string' ? { artifactType: json.artifactType } : {})
  }
  if (kind === 'index') {
    if (!Array.isArray(json.manifests)) fail('index has no "manifests" array')
    const manifests = (json.manifests as unknown[]).map((d, i) => parseDescriptor(d, `manifests[${i}]`, fail))
    return { kind, ...common, manifests }
  }
  if (!Array.isArray(json.layers)) fail('manifest has no "layers" array')
  return {
    kind,
    ...common,
    config: parseDescriptor(json.config, 'config', fail),
    layers: (json.layers as unknown[]).map((d, i) => parseDescriptor(d, `layers[${i}]`, fail))
  }
}

/** A manifest with no `mediaType` field served as generic JSON: an index has `manifests`. */
function guessMediaType(json: Record<string, unknown>, fail: (problem: string) => never): string {
  if (Array.isArray(json.manifests)) return OCI_INDEX
  if (isObject(json.config) && Array.isArray(json.layers)) return OCI_MANIFEST
  return fail('manifest has no mediaType and is neither an index nor an image manifest')
}

function parseDescriptor(value: unknown, field: string, fail: (problem: string) => never): Descriptor {
  if (!isObject(value)) return fail(`${field} is not a descriptor object`)
  const { mediaType, digest, size } = value
  if (typeof mediaType !== 'string' || mediaType === '') fail(`${field} has no mediaType`)
  if (typeof digest !== 'string' || !isDigest(digest)) fail(`${field} has no valid digest`)
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) fail(`${field} has no valid size`)
  return value as unknown as Descriptor
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Descriptors a manifest points to that are themselves manifests (an index's children). */
export function childManifests(manifest: Manifest): Descriptor[] {
  return manifest.kind === 'index' ? manifest.manifests : []
}

/** Blobs an image manifest points to: its config and layers as written, whatever their media types. */
export function blobsOf(manifest: Manifest): Descriptor[] {
  return manifest.kind === 'image' ? [manifest.config, ...manifest.layers] : []
}
