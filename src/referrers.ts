/**
 * OCI 1.1 referrers as the specs define them (distribution-spec "Listing Referrers" and its
 * "Referrers Tag Schema"; image-spec manifest.md `subject`/`artifactType`): the tag schema's tag,
 * a referrers index read and validated, a referrer's descriptor as an index lists it. Pure: the
 * lookups in stores are the engine's (engine/referrers-store.ts).
 */
import { ContentError } from './errors.js'
import { parseManifest, type Descriptor, type Manifest } from './manifest.js'
import { isMediaType, OCI_INDEX } from './media-types.js'

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

export function referrersOf(manifest: Manifest, where: string): Descriptor[] {
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
