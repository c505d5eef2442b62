/**
 * What the engine reports while it works (DESIGN §7): typed events, never text. The action and
 * the CLI render them (log groups, progress lines, a bar on a terminal); the engine never prints.
 */

/** Counters of one copy, added to as it goes. */
export interface CopyStats {
  blobsMounted: number
  blobsSkipped: number
  blobsUploaded: number
  bytesUploaded: number
  manifestsPushed: number
}

export function emptyStats(): CopyStats {
  return { blobsMounted: 0, blobsSkipped: 0, blobsUploaded: 0, bytesUploaded: 0, manifestsPushed: 0 }
}

/** How a blob came to be at a target: streamed, linked from another repository, or there already. */
export type BlobOutcome = 'uploaded' | 'mounted' | 'present'

export type ProgressEvent =
  /** A copy begins: its source and destinations, as the user named them. */
  | { type: 'artifact-started'; source: string; destinations: readonly string[] }
  /** The source's root manifest was read. */
  | { type: 'artifact-resolved'; source: string; digest: string; mediaType: string }
  /** A manifest was given new bytes (annotations, platforms, media types). */
  | { type: 'manifest-rewritten'; from: string; to: string }
  /** Blobs are about to move to a target: at most this many bytes (some may be there already). */
  | { type: 'transfer-planned'; target: string; blobs: number; bytes: number }
  | { type: 'blob-started'; target: string; digest: string; size: number }
  /** Bytes of a blob streamed so far, sent every few MiB and at the end. */
  | { type: 'blob-progress'; target: string; digest: string; done: number; size: number }
  | { type: 'blob-done'; target: string; digest: string; size: number; outcome: BlobOutcome }
  /** A blob did not get there (its copy failed or was aborted): it no longer counts as on its way. */
  | { type: 'blob-failed'; target: string; digest: string; size: number }
  | { type: 'manifest-written'; target: string; digest: string }
  /** A target holds the whole graph already: nothing moved. */
  | { type: 'target-up-to-date'; target: string; digest: string }
  /** Every blob and manifest is at a target (its counters for this target). */
  | { type: 'target-done'; target: string; stats: CopyStats }
  | { type: 'referrer-copied'; subject: string; digest: string; kind: string }
  /** A reference written: tagged, stored by digest, or already what it should be. */
  | { type: 'tag-written'; ref: string; digest: string; mediaType: string; size: number; how: 'tagged' | 'stored' | 'unchanged' }
  /** Nothing to do: the destination already is what the copy would make (a mirror re-run). */
  | { type: 'skipped'; source: string; destination: string; digest: string }
  /** An archive was opened and indexed: what it is and how many image names it holds. */
  | { type: 'archive-opened'; path: string; kind: string; images: number }
  /** `path` was packaged: what it was recognised as, and the manifest made. */
  | { type: 'package-made'; path: string; kind: string; digest: string }
  /** The manifest a packaged artifact is attached to (`subject`). */
  | { type: 'subject-resolved'; ref: string; digest: string }
  /** A pushed referrer was listed for its subject: by the registry's API, or in the tag schema index. */
  | { type: 'referrer-recorded'; subject: string; target: string; via: 'api' | 'tag' }
  | { type: 'artifact-done'; source: string; digest: string; seconds: number }
  | { type: 'artifact-failed'; source: string; error: Error }

/** Where events go; the engine calls it and never waits on it. */
export type EventSink = (event: ProgressEvent) => void

export const ignoreEvents: EventSink = () => {}
