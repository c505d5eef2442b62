/**
 * A legacy `docker save`'s layers uploaded as soon as each is compressed, while the archive's other
 * layers still are. The image's manifest names every layer's digest, so its copy cannot be planned
 * before the last layer is compressed; without this, no upload could start before then either.
 * Each layer goes to the first destination only (later ones on the same registry mount from it,
 * as in any copy), HEAD first, with the copy's events. The copy that follows finds each one placed
 * ({@link AheadUploads.lookup}), counts it as its own and moves nothing; a layer whose upload
 * failed here the copy uploads as any other. Writes no manifest and no tag: nothing points at these
 * blobs until the copy has checked and stored everything.
 */
import type { LayerListener } from '../archive/archive-sources.js'
import { Slots } from '../concurrency.js'
import type { Descriptor } from '../manifest.js'
import { isReadable, sharesBlobs, type Source, type Target } from '../storage.js'
import { placeBlobAhead, type AheadLookup, type CopyGraphOptions } from './copy-graph.js'
import { emptyStats, type BlobOutcome, type EventSink } from './events.js'

export interface AheadOptions extends Pick<CopyGraphOptions, 'concurrency' | 'logger' | 'events' | 'retry'> {
  /** The store the layers go to, being opened (and warmed) while the first layer is compressed. */
  target: Promise<Target>
}

export class AheadUploads implements LayerListener {
  private readonly placed = new Map<string, Promise<{ target: Target; outcome: BlobOutcome } | undefined>>()
  private readonly controller = new AbortController()
  private readonly slots: Slots
  private readonly target: Promise<Target | undefined>

  constructor(private readonly options: AheadOptions) {
    this.slots = new Slots(Math.max(1, options.concurrency))
    // Failing here is the copy's to report, when it opens the same store.
    this.target = options.target.catch((error: unknown) => {
      options.logger.debug(`no uploads ahead: ${error instanceof Error ? error.message : String(error)}`)
      return undefined
    })
  }

  /** `blob` is ready to be read from `source`: upload it now (once per digest). */
  ready(blob: Descriptor, source: Source): void {
    if (this.placed.has(blob.digest) || this.controller.signal.aborted) return
    this.placed.set(blob.digest, this.place(blob, source))
  }

  /** For the copy: how the blob's upload ahead to a store sharing `target`'s storage ended. */
  readonly lookup: AheadLookup = (blob, target) => {
    const placed = this.placed.get(blob.digest)
    if (!placed) return undefined
    return placed.then((done) => (done && isReadable(done.target) && sharesBlobs(target, done.target) ? done.outcome : undefined))
  }

  /** Stops what is still running (the copy is over, or never came) and waits for it to end. */
  async stop(): Promise<void> {
    this.controller.abort()
    await Promise.all(this.placed.values())
  }

  private async place(blob: Descriptor, source: Source): Promise<{ target: Target; outcome: BlobOutcome } | undefined> {
    const { logger } = this.options
    const target = await this.target
    if (!target) return undefined
    let started = false
    const events: EventSink = (event) => {
      if (event.type === 'blob-started') started = true
      this.options.events(event)
    }
    try {
      return await this.slots.run(async () => {
        // The copy asks for these only once the archive is open: stopped before, nothing is started.
        this.controller.signal.throwIfAborted()
        const outcome = await placeBlobAhead(blob, source, target, { ...this.options, events, stats: emptyStats() }, this.controller.signal)
        return { target, outcome }
      })
    } catch (error) {
      if (!this.controller.signal.aborted)
        logger.debug(
          `upload ahead of ${blob.digest} failed (${error instanceof Error ? error.message : String(error)}); the copy uploads it`
        )
      // A transfer shown as started is shown as ended (the copy shows its own, if it makes one).
      if (started) this.options.events({ type: 'blob-failed', target: target.name, digest: blob.digest, size: blob.size })
      return undefined
    }
  }
}
