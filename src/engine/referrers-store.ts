/**
 * Referrers in stores: OCI 1.1 referrers (distribution-spec "Listing Referrers", and its tag schema fallback). Whether a
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
import { RegistryError } from '../errors.js'
import type { Descriptor } from '../manifest.js'
import { OCI_INDEX } from '../media-types.js'
import { parseReferrersIndex, ReferrersLookupError, referrersTag, type ReferrersList } from '../referrers.js'
import { isTagIndex, type Source, type Target } from '../storage.js'
import { fetchVerified } from './graph.js'

/** A store that may answer the referrers API. */
export interface ReferrersApi {
  /** The referrers of `digest` (every page), or undefined when the store has no referrers API. */
  listReferrers(digest: string): Promise<ReferrersList | undefined>
}

export function hasReferrersApi(store: object): store is ReferrersApi {
  return typeof (store as Partial<ReferrersApi>).listReferrers === 'function'
}

/**
 * Stores where referrers can live: a registry repository (API or tag schema) and an OCI layout
 * (tag schema). An archive or a packaged path has no tags to look them up by.
 */
export function holdsReferrers(store: Source): boolean {
  return hasReferrersApi(store) || isTagIndex(store)
}

/**
 * `fetch()` of what `tag` names, or undefined when the store says there is no such tag: a
 * registry's 404 (MANIFEST_UNKNOWN, or NAME_UNKNOWN for a repository never written), a layout
 * whose index.json has no entry of that name. Any other failure is thrown.
 */
export async function ifTagged<T>(store: Source, tag: string, fetch: () => Promise<T>): Promise<T | undefined> {
  if (isTagIndex(store)) {
    // A layout names its tags in index.json: asked there, with no error to interpret.
    return (await store.hasTag(tag)) ? fetch() : undefined
  }
  try {
    return await fetch()
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return undefined
    throw error
  }
}

/** Where a store's referrers were found, what they are, and which descriptors were left out (with why). */
export interface FoundReferrers extends ReferrersList {
  via: 'api' | 'tag'
  /** The index read: `the referrers API`, `the tag schema index sha256-…`. */
  where: string
}

/** The referrers of `subject` in a store: its API, else the tag schema index (none when absent). */
export async function listReferrers(store: Source, subject: string): Promise<FoundReferrers> {
  if (hasReferrersApi(store)) {
    const where = 'the referrers API'
    const fromApi = await lookup(store, subject, where, () => store.listReferrers(subject))
    if (fromApi) return { via: 'api', where, ...fromApi }
  }
  const tag = referrersTag(subject)
  const where = `the tag schema index ${tag}`
  const found = await lookup(store, subject, where, async () => {
    const index = await ifTagged(store, tag, () => fetchVerified(store, tag))
    return index ? parseReferrersIndex(index.bytes, index.where) : { referrers: [], skipped: [] }
  })
  return { via: 'tag', where, ...found }
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
export function recordReferrer(store: Source & Target, subject: string, referrer: Descriptor): Promise<'api' | 'tag'> {
  return recordReferrers(store, subject, [referrer])
}

/**
 * {@link recordReferrer} for several at once, with what the target lists already when the caller
 * asked it before (`known`): the tag schema index is written once, and not at all when every
 * referrer is in it (a re-run writes nothing).
 */
export async function recordReferrers(
  store: Source & Target,
  subject: string,
  referrers: readonly Descriptor[],
  known?: FoundReferrers
): Promise<'api' | 'tag'> {
  const { via, referrers: listed, written } = known ?? (await listReferrers(store, subject))
  if (via === 'api') return 'api'
  const present = new Set(listed.map((d) => d.digest))
  const added: Descriptor[] = []
  for (const referrer of referrers) {
    if (present.has(referrer.digest)) continue
    present.add(referrer.digest)
    added.push(referrer)
  }
  if (added.length === 0) return 'tag'
  // Merged with the index as it was written: entries this copy cannot use (a signer's odd ones) stay.
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...(written ?? listed), ...added] }))
  const descriptor = { mediaType: OCI_INDEX, digest: sha256(bytes), size: bytes.length }
  await store.pushManifest(descriptor, bytes, referrersTag(subject))
  return 'tag'
}
