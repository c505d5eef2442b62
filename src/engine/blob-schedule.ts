/**
 * Which of a copy's blobs run when: a gzip'd archive's one at a time in the order it stores them
 * (it is read front to back); otherwise large blobs `concurrency` at once, largest first (the
 * longest transfer starts at once), and small ones four times as many at once beside them (at most
 * {@link SMALL_BLOB_CONCURRENCY}), since they cost round trips more than bytes. A concurrency of
 * 1 moves one blob at a time, small blobs too.
 */
import { setMaxListeners } from 'node:events'
import { forEachLimit, SMALL_BLOB_BYTES, SMALL_BLOB_CONCURRENCY, smallBlobsAtOnce } from '../concurrency.js'
import type { Descriptor } from '../manifest.js'
import { isOrderedSource, type Source } from '../storage.js'

/** Blobs run in their order, `limit` at once; the lanes of a copy run side by side. */
export interface BlobLane {
  blobs: Descriptor[]
  limit: number
}

export interface ScheduleOptions {
  /** Where the blobs are read from: an archive may need them in its order. */
  source: Source
  /** Large blobs in flight at once. */
  concurrency: number
}

export function blobLanes(blobs: readonly Descriptor[], { source, concurrency }: ScheduleOptions): BlobLane[] {
  if (isOrderedSource(source) && source.sequential)
    return [{ blobs: [...blobs].sort((a, b) => source.blobOrder(a.digest) - source.blobOrder(b.digest)), limit: 1 }]
  const largestFirst = [...blobs].sort((a, b) => b.size - a.size)
  if (concurrency <= 1) return [{ blobs: largestFirst, limit: 1 }]
  return [
    { blobs: largestFirst.filter((b) => b.size >= SMALL_BLOB_BYTES), limit: concurrency },
    { blobs: largestFirst.filter((b) => b.size < SMALL_BLOB_BYTES), limit: smallBlobsAtOnce(concurrency) }
  ]
}

/**
 * Runs `copy` for every blob in its {@link blobLanes}. The first failure aborts the signal every
 * copy is given, so every transfer still running stops (the step fails now, not once every other
 * upload has finished), and is what is thrown.
 */
export async function forEachBlob(
  blobs: readonly Descriptor[],
  options: ScheduleOptions,
  copy: (blob: Descriptor, signal: AbortSignal) => Promise<void>
): Promise<void> {
  const controller = new AbortController()
  // Every transfer in flight listens on it (a download and an upload each, and retry waits).
  setMaxListeners(8 * (options.concurrency + SMALL_BLOB_CONCURRENCY) + 16, controller.signal)
  let first: { error: unknown } | undefined
  const fail = (error: unknown) => {
    first ??= { error }
    controller.abort(error)
  }
  const run = (blob: Descriptor) => copy(blob, controller.signal)
  await Promise.allSettled(blobLanes(blobs, options).map((lane) => forEachLimit(lane.blobs, lane.limit, run, fail)))
  if (first) throw first.error
}
