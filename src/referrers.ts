/**
 * OCI 1.1 referrers as the specs define them (distribution-spec "Listing Referrers" and its
 * "Referrers Tag Schema"; image-spec manifest.md `subject`/`artifactType`): the tag schema's tag,
 * a referrers index read and validated, a referrer's descriptor as an index lists it. Pure: the
 * lookups in stores are the engine's (engine/referrers-store.ts).
 */
import { ContentError } from './errors.js'
import { isDigest } from './digest.js'
import { shown } from './escape.js'
import type { Descriptor } from './manifest.js'
import { isMediaType, OCI_INDEX } from './media-types.js'
import { keepWords, spoken, tokenMessage } from './words.js'

/** Looking up the referrers of `subject` in `store` failed for another reason than "there are none". */
export class ReferrersLookupError extends Error {
  constructor(
    readonly store: string,
    readonly subject: string,
    /** Where they were looked up: `the referrers API`, `the tag schema index sha256-…`. */
    readonly lookup: string,
    readonly failure: Error
  ) {
    super()
    const text = `look up referrers of ${store}@${subject} in ${lookup}: ${tokenMessage(failure)}`
    this.message = spoken(text)
    keepWords(this, text)
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

/** A referrers index as copying reads it: the descriptors it can use, and why the others were left out. */
export interface ReferrersList {
  referrers: Descriptor[]
  /** One line per descriptor left out: `manifests[3] has no valid digest`. */
  skipped: string[]
  /**
   * The index's `manifests` as written, every entry (left out or not), for a merge that must not
   * drop what others wrote there.
   */
  written?: unknown[]
}

/**
 * The descriptors of a referrers index (an API answer, or the tag schema's index), each checked
 * for what copying needs (DESIGN §7): digest `algorithm:hex`, size a non-negative safe integer,
 * media type `type/subtype`. Signers write these indexes themselves, and not always well (cosign
 * v3 writes `"artifactType": ""`), so a descriptor that fails is left out with its reason, never
 * the whole index; an `artifactType` that is empty or not a media type is read as unknown (the
 * field dropped). An answer that is not JSON, or not an index, is a {@link ContentError}.
 */
export function parseReferrersIndex(bytes: Buffer, where: string): ReferrersList {
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new ContentError(where, 'is not valid JSON')
  }
  if (!isObject(json)) throw new ContentError(where, 'is not a JSON object')
  if (json.mediaType !== undefined && json.mediaType !== OCI_INDEX) {
    throw new ContentError(where, `is ${typeof json.mediaType === 'string' ? shown(json.mediaType, 80) : 'not typed'}, not an image index`)
  }
  if (!Array.isArray(json.manifests)) throw new ContentError(where, 'has no "manifests" array')
  const list: ReferrersList = { referrers: [], skipped: [], written: json.manifests as unknown[] }
  ;(json.manifests as unknown[]).forEach((value, i) => {
    const problem = descriptorProblem(value)
    if (problem) list.skipped.push(`manifests[${i}] ${problem}`)
    else list.referrers.push(withKnownArtifactType(value as Descriptor & Record<string, unknown>))
  })
  return list
}

/** What keeps `value` from being copied as a referrer, or undefined. */
function descriptorProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'is not a descriptor object'
  const { mediaType, digest, size } = value
  if (typeof mediaType !== 'string' || !isMediaType(mediaType)) return 'has no valid mediaType'
  if (typeof digest !== 'string' || !isDigest(digest)) return 'has no valid digest'
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return 'has no valid size'
  return undefined
}

function withKnownArtifactType(descriptor: Descriptor & Record<string, unknown>): Descriptor {
  const artifactType: unknown = descriptor.artifactType
  if (artifactType === undefined || (typeof artifactType === 'string' && isMediaType(artifactType))) return descriptor
  const { artifactType: _unknown, ...rest } = descriptor
  return rest
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
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
