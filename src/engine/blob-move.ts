/**
 * One blob's move within a copy: the way every step of it takes (source, target, the copy's
 * abort signal), where it reports, and how its ending is counted.
 */
import type { Logger } from '../log.js'
import type { Descriptor } from '../manifest.js'
import type { RetryPolicy } from '../retry.js'
import type { Source, Target } from '../storage.js'
import type { BlobOutcome, CopyStats, EventSink } from './events.js'

/** What moving a blob reports to, and how its transfers are restarted. */
export interface MoveOptions {
  /** Diagnostics (debug lines, retries); progress goes to `events`. */
  logger: Logger
  events: EventSink
  /** Counters to add to. */
  stats: CopyStats
  /** How blob transfers that fail transiently are restarted; the default policy otherwise. */
  retry?: RetryPolicy
}

/** From where to where a copy's blobs go, stopped when `signal` is aborted (another blob of the copy failed). */
export interface BlobRoute {
  source: Source
  target: Target
  signal: AbortSignal
}

export interface BlobMove extends BlobRoute, MoveOptions {}

export function countOutcome(stats: CopyStats, outcome: BlobOutcome, blob: Descriptor): void {
  if (outcome === 'uploaded') {
    stats.blobsUploaded++
    stats.bytesUploaded += blob.size
  } else if (outcome === 'mounted') stats.blobsMounted++
  else stats.blobsSkipped++
}

/** Counts how `blob` came to be at the target, and says so (`blob-done`). */
export function reportDone(blob: Descriptor, move: BlobMove, outcome: BlobOutcome): void {
  countOutcome(move.stats, outcome, blob)
  move.events({ type: 'blob-done', target: move.target.name, digest: blob.digest, size: blob.size, outcome })
}
