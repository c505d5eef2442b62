/**
 * OCI 1.1 referrers (distribution-spec "Listing Referrers", and its tag schema fallback). Whether a
 * registry has the API is asked of it, as oras-go does: `GET /v2/<name>/referrers/<digest>`
 * answering 200 with the OCI index media type. An `OCI-Subject` header alone is not trusted (ECR
 * has sent one without a working API). Without the API, referrers are listed in an index tagged
 * `<alg>-<hex>` of the subject digest, kept read-modify-write.
 *
 * Only "there are none" is quiet: no tag schema index (404, or no such entry in a layout), or an
 * empty list. Any other failure of a lookup — a refusal, a 5xx after retries, an index that is
 * not valid — is a {@link ReferrersLookupError}, so a referrer is never lost in silence.
 */
import { sha256 } from '../digest.js'
import { ContentError, RegistryError } from '../errors.js'
import { fetchRoot } from '../copy/graph.js'
import { entryName } from '../layout/entries.js'
import { OciLayout } from '../layout/oci-layout.js'
import { parseManifest, type Descriptor, type Manifest } from '../manifest.js'
import { isMediaType, OCI_INDEX } from '../media-types.js'
import { showReference } from '../reference.js'
import type { Source, Target } from '../storage.js'

/** A store that may answer the referrers API. */
export interface ReferrersApi {
  /** The referrers of `digest` (every page), or undefined when the store has no referrers API. */
  listReferrers(digest: string): Promise<Descriptor[] | undefined>
}

export function hasReferrersApi(store: object): store is ReferrersApi {
  return typeof (store as Partial<ReferrersApi>).listReferrers === 'function'
}

/**
 * Stores where referrers can live: a registry repository (API or tag schema) and an OCI layout
 * (tag schema). An archive or a packaged path has no tags to look them up by.
 */
export function holdsReferrers(store: Source): boolean {
  return hasReferrersApi(store) || store instanceof OciLayout
}

/** Looking up the referrers of `subject` in `store` failed for another reason than "there are none". */
export class ReferrersLookupError extends Error {
  constructor(
    readonly store: string,
    readonly subject: string,
    /** Where they were looked up: `the referrers API`, `the tag schema index sha256-…`. */
    readonly lookup: string,
    readonly failure: Error
  ) {
    super(`look up referrers of ${store}@${subject} in ${lookup}: ${failure.message}`)
    this.name = 'ReferrersLookupError'
  }
}

/**
 * The tag schema's tag for a subject (distribution-spec "Referrers Tag Schema"): the algorithm
 * truncated to 32 characters, `-`, the encoded part truncated to 64, any character a tag cannot
 * hold replaced by `-`. `sha256:<hex>` is `sha256-<hex>`; a sha512 digest keeps 64 hex digits.
 */
export function referrersTag(subject: string): string {
  const colon = subject.indexOf(':')
  const tag = `${subject.slice(0, colon).slice(0, 32)}-${subject.slice(colon + 1).slice(0, 64)}`
  return tag.replace(/[^a-zA-Z0-9._-]/g, '-')
}

/**
 * The descriptors of a referrers index (an API answer, or the tag schema's index), each checked
 * before use (DESIGN §7): digest `algorithm:hex`, size a non-negative safe integer (both by
 * {@link parseManifest}), media type and artifactType `type/subtype`. Anything else is a
 * {@link ContentError} naming `where`.
 */
export function parseReferrersIndex(bytes: Buffer, contentType: string | undefined, where: string): Descriptor[] {
  return referrersOf(parseManifest(bytes, contentType ?? OCI_INDEX, where), where)
}

function referrersOf(manifest: Manifest, where: string): Descriptor[] {
  if (manifest.kind !== 'index') throw new ContentError(where, `is ${manifest.mediaType}, not an image index`)
  manifest.manifests.forEach((d, i) => {
    if (!isMediaType(d.mediaType)) throw new ContentError(where, `manifests[${i}] has no valid mediaType`)
    const artifactType: unknown = d.artifactType
    if (artifactType !== undefined && (typeof artifactType !== 'string' || !isMediaType(artifactType))) {
      throw new ContentError(where, `manifests[${i}] has an artifactType that is not a media type`)
    }
  })
  return manifest.manifests
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

/**
 * `fetch()` of what `tag` names, or undefined when the store says there is no such tag: a
 * registry's 404 (MANIFEST_UNKNOWN, or NAME_UNKNOWN for a repository never written), a layout
 * whose index.json has no entry of that name. Any other failure is thrown.
 */
export async function ifTagged<T>(store: Source, tag: string, fetch: () => Promise<T>): Promise<T | undefined> {
  if (store instanceof OciLayout) {
    // A layout names its tags in index.json: asked there, with no error to interpret.
    if (!(await store.index()).manifests.some((d) => entryName(d) === tag)) return undefined
    return fetch()
  }
  try {
    return await fetch()
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return undefined
    throw error
  }
}

/** The referrers of `subject` in a store: its API, else the tag schema index (none when absent). */
export async function listReferrers(store: Source, subject: string): Promise<{ via: 'api' | 'tag'; referrers: Descriptor[] }> {
  if (hasReferrersApi(store)) {
    const fromApi = await lookup(store, subject, 'the referrers API', () => store.listReferrers(subject))
    if (fromApi) return { via: 'api', referrers: fromApi }
  }
  const tag = referrersTag(subject)
  const referrers = await lookup(store, subject, `the tag schema index ${tag}`, async () => {
    const index = await ifTagged(store, tag, () => fetchRoot(store, tag))
    return index ? referrersOf(index.manifest, showReference(store.name, tag)) : []
  })
  return { via: 'tag', referrers }
}

async function lookup<T>(store: Source, subject: string, where: string, look: () => Promise<T>): Promise<T> {
  try {
    return await look()
  } catch (error) {
    throw new ReferrersLookupError(store.name, subject, where, error as Error)
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
