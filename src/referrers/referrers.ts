/**
 * OCI 1.1 referrers (distribution-spec "Listing Referrers", and its tag schema fallback). Whether a
 * registry has the API is asked of it, as oras-go does: `GET /v2/<name>/referrers/<digest>`
 * answering 200 with the OCI index media type. An `OCI-Subject` header alone is not trusted (ECR
 * has sent one without a working API). Without the API, referrers are listed in an index tagged
 * `<alg>-<hex>` of the subject digest, kept read-modify-write.
 */
import { sha256 } from '../digest.js'
import { OCI_INDEX } from '../media-types.js'
import type { Descriptor } from '../manifest.js'
import type { Source, Target } from '../storage.js'

/** A store that may answer the referrers API. */
export interface ReferrersApi {
  /** The referrers of `digest`, or undefined when the store has no referrers API. */
  listReferrers(digest: string): Promise<Descriptor[] | undefined>
}

export function hasReferrersApi(store: object): store is ReferrersApi {
  return typeof (store as Partial<ReferrersApi>).listReferrers === 'function'
}

/** The tag schema's tag for a subject: `sha256-<hex>`. */
export function referrersTag(subject: string): string {
  return subject.replace(':', '-')
}

/** Parses an index body for its descriptors; [] for anything that is not one. */
export function indexDescriptors(bytes: Buffer): Descriptor[] {
  try {
    const json = JSON.parse(bytes.toString('utf8')) as { manifests?: unknown }
    return Array.isArray(json.manifests) ? (json.manifests as Descriptor[]) : []
  } catch {
    return []
  }
}

/** A referrer's descriptor as the index lists it: media type, digest, size, artifactType, annotations. */
export function referrerDescriptor(manifest: Buffer, descriptor: Descriptor): Descriptor {
  const json = JSON.parse(manifest.toString('utf8')) as {
    artifactType?: string
    config?: { mediaType?: string }
    annotations?: Record<string, string>
  }
  // image-spec: a manifest without artifactType is listed with its config's media type.
  const artifactType = json.artifactType ?? json.config?.mediaType
  return {
    mediaType: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    ...(artifactType ? { artifactType } : {}),
    ...(json.annotations ? { annotations: json.annotations } : {})
  }
}

/** The referrers of `subject` in a store: its API, else the tag schema index (none when absent). */
export async function listReferrers(store: Source, subject: string): Promise<{ via: 'api' | 'tag'; referrers: Descriptor[] }> {
  if (hasReferrersApi(store)) {
    const fromApi = await store.listReferrers(subject)
    if (fromApi) return { via: 'api', referrers: fromApi }
  }
  try {
    return { via: 'tag', referrers: indexDescriptors((await store.fetchManifest(referrersTag(subject))).bytes) }
  } catch {
    return { via: 'tag', referrers: [] }
  }
}

/**
 * Records `referrer` as a referrer of `subject` at a target: nothing to do where the API is (the
 * registry links a manifest with `subject` itself), else the tag schema index gets the descriptor
 * added — existing entries kept, no duplicate. Returns how it was recorded.
 */
export async function recordReferrer(store: Source & Target, subject: string, referrer: Descriptor): Promise<'api' | 'tag'> {
  const { via, referrers } = await listReferrers(store, subject)
  if (via === 'api') return 'api'
  if (referrers.some((d) => d.digest === referrer.digest)) return 'tag'
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...referrers, referrer] }))
  const descriptor = { mediaType: OCI_INDEX, digest: sha256(bytes), size: bytes.length }
  await store.pushManifest(descriptor, bytes, referrersTag(subject))
  return 'tag'
}
