/** What the engine is asked to do and what it answers: the types every driver shares. */
import type { AnnotationRule } from '../annotations.js'
import type { Endpoint } from '../endpoint.js'
import type { Logger } from '../log.js'
import type { PlatformSpec } from '../platform.js'
import type { RetryPolicy } from '../retry.js'
import type { RewrittenManifest } from './annotate.js'
import type { CopiedReferrer } from './copy-referrers.js'
import type { CopyStats, EventSink } from './events.js'
import { keepWords, spoken, tokenMessage } from '../words.js'

/** Diagnostics (debug lines, notices, secrets to mask) and typed progress events. */
export interface Reporter extends Logger {
  event: EventSink
}

export interface CopyRequest {
  /**
   * A registry source has a tag or a digest (or both: the digest is what is copied); a layout
   * without either stands for its only entry.
   */
  source: Endpoint
  destinations: readonly Endpoint[]
  /** Bytes allowed from one registry repository to another (plan.ts `sizeLimitApplies`): 0 refuses such copies, `UNLIMITED` allows any. */
  maxArtifactSize: number
  /** Blobs in flight at once; the same setting sizes the connection pool (`DEFAULT_CONCURRENCY`). */
  concurrency?: number
  /** How transient faults are retried; `DEFAULT_RETRY` by default. */
  retry?: RetryPolicy
  /** Annotations to add (DESIGN §4 scopes). */
  annotations?: readonly AnnotationRule[]
  /** Only these platforms of an index. */
  platforms?: readonly PlatformSpec[]
  /** Convert Docker v2 manifests and lists to OCI media types. */
  ociMediaTypes?: boolean
  /** Also copy what refers to the copied manifests (signatures, SBOMs, attestations). */
  referrers?: boolean
  /**
   * What destination tags hold, when the caller asked already (a mirror's HEAD of its pair), by
   * `formatEndpoint` of the destination with its tag: not asked again.
   */
  heldTags?: ReadonlyMap<string, string | undefined>
}

export interface PushedReference {
  ref: string
  /** The tag written, or undefined when pushed by digest alone. */
  tag?: string
  digest: string
  mediaType: string
  size: number
}

export interface CopyResult {
  digest: string
  mediaType: string
  size: number
  /** Every destination written (or, for a dry run, that would be), in the order given. */
  pushed: PushedReference[]
  /** Manifests written with new bytes (annotations, platforms, media types): old → new digest. */
  rewritten: RewrittenManifest[]
  /** Referrers copied along (`referrers: true`). */
  referrers: CopiedReferrer[]
  stats: CopyStats
  seconds: number
  /** A dry run: nothing was written; `bytes` is what would be uploaded at most. */
  planned?: { bytes: number }
}

/**
 * Writing a tag failed after others were written (every blob and manifest was already in place,
 * so those tags point at complete artifacts): the message says which were written.
 */
export class PartialCopyError extends Error {
  constructor(
    readonly failure: Error,
    readonly written: readonly PushedReference[]
  ) {
    super()
    const text = `${tokenMessage(failure)}; written before the failure: ${written.map((p) => p.ref).join(', ')}`
    this.message = spoken(text)
    keepWords(this, text)
    this.name = 'PartialCopyError'
  }
}
