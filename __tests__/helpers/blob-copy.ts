/** A copy of one blob for the engine's unit tests: events recorded, counters fresh, nothing logged, never aborted. */
import type { BlobCopy } from '../../src/engine/copy-blob.js'
import { emptyStats, type ProgressEvent } from '../../src/engine/events.js'
import { silentLogger } from '../../src/log.js'
import type { Source, Target } from '../../src/storage.js'

export function blobCopy(source: Source, target: Target, extra: Partial<BlobCopy> = {}): { copy: BlobCopy; events: ProgressEvent[] } {
  const events: ProgressEvent[] = []
  const copy: BlobCopy = {
    source,
    target,
    signal: new AbortController().signal,
    logger: silentLogger,
    events: (event) => events.push(event),
    stats: emptyStats(),
    ...extra
  }
  return { copy, events }
}
