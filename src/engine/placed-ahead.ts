/**
 * Blobs placed before their copy is planned (`ahead-uploads.ts`: a docker save's layers uploaded
 * while the archive is still read): placed as the copy would place them, and found by the copy,
 * which counts each as its own and moves nothing.
 */
import type { Descriptor } from '../manifest.js'
import type { Source, Target } from '../storage.js'
import { countOutcome, type BlobMove, type MoveOptions } from './blob-move.js'
import { placeBlob } from './blob-placement.js'
import type { BlobOutcome } from './events.js'

/**
 * Places one blob at `target` before a copy of its graph is planned (a docker save's layer as soon
 * as it is compressed): as the copy would, with its events, but counted apart (in `options.stats`)
 * and without retries of the whole: a failure here is the copy's to try again.
 */
export function placeBlobAhead(
  blob: Descriptor,
  source: Source,
  target: Target,
  options: MoveOptions,
  signal: AbortSignal
): Promise<BlobOutcome> {
  return placeBlob(blob, { ...options, source, target, signal })
}

/**
 * How a blob placed ahead at `target` ended: the copy counts it as its own and moves nothing;
 * undefined (the lookup or its answer) when it was not placed there ahead, or that failed.
 */
export type AheadLookup = (blob: Descriptor, target: Target) => Promise<BlobOutcome | undefined> | undefined

/** Whether `blob` was placed ahead at the move's target; then counted, in `move.stats`. */
export async function placedAhead(blob: Descriptor, move: BlobMove & { ahead?: AheadLookup }): Promise<boolean> {
  // Waited for as long as this copy runs: a failure elsewhere ends the wait (the upload itself is stopped by its owner).
  const outcome = await untilAborted(move.ahead?.(blob, move.target), move.signal)
  // Its events went out as it happened; its count is this copy's.
  if (outcome) countOutcome(move.stats, outcome, blob)
  return outcome !== undefined
}

/** `answer`, or the abort's reason as soon as `signal` is aborted, whichever comes first. */
export async function untilAborted<T>(answer: Promise<T> | undefined, signal: AbortSignal): Promise<T | undefined> {
  if (!answer) return undefined
  signal.throwIfAborted()
  let stop: () => void = () => {}
  const aborted = new Promise<never>((_, reject) => {
    stop = () => reject(signal.reason as Error)
    signal.addEventListener('abort', stop, { once: true })
  })
  try {
    return await Promise.race([answer, aborted])
  } finally {
    signal.removeEventListener('abort', stop)
  }
}
