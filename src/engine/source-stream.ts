/**
 * The source's bytes as every target gets them: size (and, unless the target checks it, digest)
 * verified on the way, in this one place, progress told every few MiB, and the source's own
 * errors named as the source's (not taken for the destination's).
 */
import type { Readable } from 'node:stream'
import { VerifyingStream } from '../digest.js'
import { ContentError, FileSystemError, SourceError } from '../errors.js'
import type { Descriptor } from '../manifest.js'
import type { EventSink } from './events.js'

export interface VerifyOptions {
  /** The blob as messages name it at the source: `registry/repository@digest`. */
  reference: string
  /** Hash the bytes here; a registry target hashes them itself (and refuses a mismatch), then only the size is checked. */
  digest: boolean
  /** Bytes streamed so far, told for each chunk. */
  onProgress: (count: number) => void
}

/** `stream` (the source's download of `blob`) through a {@link VerifyingStream}. */
export function verifiedSourceStream(stream: Readable, blob: Descriptor, options: VerifyOptions): Readable {
  const verifier = new VerifyingStream(blob, { digest: options.digest, onProgress: options.onProgress })
  // A file the source cannot read (a layout's) is named as it is, and not read again: trying does not change it.
  const fail = (error: Error) =>
    verifier.destroy(
      error instanceof ContentError || error instanceof FileSystemError ? error : new SourceError(options.reference, error.message)
    )
  stream.on('error', fail)
  verifier.on('close', () => stream.destroy())
  // A download fetched ahead may have broken before anyone read it: its error is already past.
  if (stream.errored) fail(stream.errored)
  else if (stream.destroyed && !stream.readableEnded) fail(new Error('the download was closed before its end'))
  return stream.pipe(verifier)
}

/** Bytes between two progress events of one blob: a few events per second at full speed, not one per chunk. */
export const PROGRESS_STEP = 4 * 1024 * 1024

/** A blob's streamed bytes as `blob-progress` events to `target`, every {@link PROGRESS_STEP} and at the end. */
export function progressEvents(blob: Descriptor, target: string, events: EventSink): (count: number) => void {
  let reported = 0
  return (count) => {
    if (count - reported < PROGRESS_STEP && count !== blob.size) return
    reported = count
    events({ type: 'blob-progress', target, digest: blob.digest, done: count, size: blob.size })
  }
}
