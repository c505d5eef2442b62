/**
 * How a blob's bytes move: streamed from the source (or the download fetched ahead) to the
 * target, verified on the way, and started over from the source when a try fails transiently.
 */
import { DigestMismatchError } from '../digest.js'
import { ContentError, isTransient, RegistryError, wasRetried } from '../errors.js'
import type { Descriptor } from '../manifest.js'
import { showReference } from '../reference.js'
import { DEFAULT_RETRY, nextTryText, withRetries, type RetryRule } from '../retry.js'
import { verifiesDigests } from '../storage.js'
import { tokenMessage } from '../words.js'
import type { BlobMove } from './blob-move.js'
import { release, type Prefetched } from './prefetch.js'
import { progressEvents, verifiedSourceStream } from './source-stream.js'

/**
 * Streams `blob` to the target, verified, restarted as {@link restartRule} allows, with its
 * `blob-started` and `blob-progress` events; how it ended is the caller's to count and report.
 */
export async function uploadBlob(blob: Descriptor, move: BlobMove, prefetched?: Prefetched): Promise<void> {
  const { source, target, events, signal } = move
  const reference = showReference(source.name, blob.digest)
  const digest = !verifiesDigests(target)
  const open = async () => {
    events({ type: 'blob-started', target: target.name, digest: blob.digest, size: blob.size })
    // The first try reads what was fetched ahead; a restart reads the source again, its progress from 0.
    const fetching = prefetched ?? source.fetchBlob(blob, { signal })
    prefetched = undefined
    return verifiedSourceStream(await fetching, blob, { reference, digest, onProgress: progressEvents(blob, target.name, events) })
  }
  try {
    await withRetries(() => target.pushBlob(blob, open, { signal }), restartRule({ ...move, what: blob.digest, from: 'the source' }))
  } catch (error) {
    if (error instanceof DigestMismatchError) throw new ContentError(reference, `blob ${error.message}`)
    // The registry hashed the bytes and refused them: the source's blob is not what its digest says.
    if (error instanceof RegistryError && error.details.some((d) => d.code === 'DIGEST_INVALID')) {
      throw new ContentError(reference, `blob content does not match its digest (${target.name} refused it: DIGEST_INVALID)`)
    }
    throw error
  } finally {
    // A download fetched ahead that no try took (the copy was aborted first) must not hold its connection.
    await release(prefetched)
  }
}

/** What {@link restartRule} restarts, in the words of its log line, and under which policy. */
export interface Restarts extends Pick<BlobMove, 'logger' | 'retry' | 'signal'> {
  /** What is uploaded again: a blob's digest. */
  what: string
  /** Where it is read again from: `the source`. */
  from: string
}

/**
 * A push that fails transiently (a reset, a 5xx, a source cut short, a token that expired on the
 * way) starts over from the source in a new upload session, never resuming bytes of unknown
 * state; within the retry policy. The time a try spent streaming does not count against the
 * policy's time budget, only the waits do. A request the client has already retried (the upload's
 * POST, the source's GET) is not tried again here: each operation is retried in one place.
 */
export function restartRule(restarts: Restarts): RetryRule {
  const policy = restarts.retry ?? DEFAULT_RETRY
  let refreshed = false
  // A 401 mid-push is a token that expired: the client has learned a new one; once, at once.
  const expired = (error: unknown) => error instanceof RegistryError && error.status === 401 && !wasRetried(error)
  return {
    policy,
    retryable: (error) => {
      if (!expired(error)) return isTransient(error) && !wasRetried(error)
      if (refreshed) return false
      refreshed = true
      return true
    },
    retryAfterMs: (error) => (expired(error) ? 0 : error instanceof RegistryError ? error.retryAfterMs : undefined),
    onRetry: (error, delay, next) =>
      restarts.logger.info(
        `${tokenMessage(error)}; uploading ${restarts.what} again from ${restarts.from} ${nextTryText(delay, next, policy)}`
      ),
    countTries: false,
    signal: restarts.signal
  }
}
