/**
 * A legacy `docker save`'s layers uploaded as each is compressed (straight into a streamed upload,
 * where the registry takes one; else as soon as it is spooled), while the archive's other layers
 * still are. The image's manifest names every layer's digest, so its copy cannot be planned
 * before the last layer is compressed; without this, no upload could start before then either.
 * Each layer goes to the first destination only (later ones on the same registry mount from it,
 * as in any copy), HEAD first, with the copy's events. The copy that follows finds each one placed
 * ({@link AheadUploads.lookup}), counts it as its own and moves nothing; a layer whose upload
 * failed here the copy uploads as any other. Writes no manifest and no tag: nothing points at these
 * blobs until the copy has checked and stored everything.
 */
import type { LayerListener, LayerToStream } from '../archive/archive-sources.js'
import type { CompressedLayer } from '../archive/layer-compression.js'
import { Slots } from '../concurrency.js'
import { ContentError } from '../errors.js'
import type { Descriptor } from '../manifest.js'
import { withRetries } from '../retry.js'
import { restartRule } from './blob-upload.js'
import { previousLayers } from './previous-layers.js'
import {
  isReadable,
  isStreamingTarget,
  sharesBlobs,
  StreamRefusedError,
  type Source,
  type StreamingTarget,
  type Target
} from '../storage.js'
import { tokenMessage } from '../words.js'
import { placeBlobAhead, type AheadLookup } from './placed-ahead.js'
import type { CopyGraphOptions } from './copy-graph.js'
import { emptyStats, type BlobOutcome, type EventSink } from './events.js'

export interface AheadOptions extends Pick<CopyGraphOptions, 'concurrency' | 'logger' | 'events' | 'retry'> {
  /** The tag the destination's name gives (`app:latest`): an image already there under it tells which layers need no upload. */
  tag?: string
  /** The store the layers go to, being opened (and warmed) while the first layer is compressed. */
  target: Promise<Target>
}

export class AheadUploads implements LayerListener {
  private readonly placed = new Map<string, Promise<{ target: Target; outcome: BlobOutcome } | undefined>>()
  private readonly controller = new AbortController()
  private readonly slots: Slots
  private readonly target: Promise<Target | undefined>
  /** Whether the first destination holds the image's config already (asked once). */
  private configAsked: Promise<boolean> | undefined
  /** The `diff_id`s of the image the destination tag names now (asked once, with the config). */
  private previous: Promise<ReadonlySet<string>> | undefined

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

  /**
   * Compresses a layer straight into a streamed upload (`POST`, one `PATCH`, `PUT ?digest=`), no
   * temporary file: when the first destination is a registry that takes one and does not hold
   * the image's config yet (a re-run finds it there: then each layer is measured and asked for
   * first, as {@link ready} does, and nothing is sent twice), nor, under the destination tag, an
   * image with this layer (a save pushed again to `latest` with some layers changed). Resolves with the layer's digests as
   * soon as its last byte is compressed; the upload's last request goes on, and the copy waits for
   * it ({@link lookup}). A broken upload starts over from the layer (the compression is
   * deterministic), as the retry policy allows; one that fails for good is the copy's to make.
   * Undefined when the layer's digests did not come from here: the archive spools it.
   */
  async upload(layer: LayerToStream): Promise<CompressedLayer | undefined> {
    const target = await this.target
    if (!target || !isStreamingTarget(target) || !target.streamsBlobs() || this.controller.signal.aborted) return undefined
    const { events, logger } = this.options
    this.configAsked ??= target.blobExists(layer.config).catch((error: unknown) => {
      logger.debug(
        `could not ask ${target.name} for the image's config (${tokenMessage(error)}); each layer is measured and asked for first`
      )
      return true
    })
    // Asked together: one round trip before the first layer starts.
    this.previous ??= this.options.tag && isReadable(target) ? this.previousLayers(target, this.options.tag) : Promise.resolve(new Set())
    if (await this.configAsked) return undefined
    if ((await this.previous).has(layer.diffId)) return undefined
    events({ type: 'blob-started', target: target.name, digest: layer.diffId, size: layer.size })
    let known: CompressedLayer | undefined
    let refused: ContentError | undefined
    let measured: (done: CompressedLayer) => void = () => {}
    const digests = new Promise<CompressedLayer>((resolve) => (measured = resolve)).then((done) => (known = done))
    const placed = this.streamWithRestarts(layer, target, measured).then(
      (done) => {
        events({ type: 'blob-done', target: target.name, digest: layer.diffId, size: done.size, outcome: 'uploaded' })
        return { target, outcome: 'uploaded' as const }
      },
      (error: unknown) => {
        events({ type: 'blob-failed', target: target.name, digest: layer.diffId, size: layer.size })
        // Not what the config lists: the archive is refused at once, nothing else of it sent.
        if (error instanceof ContentError) refused = error
        else if (error instanceof StreamRefusedError) {
          if (!error.known) logger.info(error.message)
        } else if (!this.controller.signal.aborted)
          logger.debug(`streamed upload of ${layer.what} failed (${tokenMessage(error)}); the copy uploads it`)
        return undefined
      }
    )
    // A try that compressed the layer gives its digests; one that failed for good before any did gives none.
    await Promise.race([digests, placed])
    if (refused) throw refused
    if (!known) return undefined
    this.placed.set(known.digest, placed)
    return known
  }

  private previousLayers(target: Target & Source, tag: string): Promise<ReadonlySet<string>> {
    return previousLayers(target, tag, (error) =>
      this.options.logger.debug(`${target.name}:${tag} tells no layers already there (${tokenMessage(error)})`)
    )
  }

  /** Pushes the layer as it is compressed, in a new session on each try; `measured` hears its digests once a try has compressed it all. */
  private async streamWithRestarts(
    layer: LayerToStream,
    target: Target & StreamingTarget,
    measured: (done: CompressedLayer) => void
  ): Promise<CompressedLayer> {
    const { signal } = this.controller
    let last: Promise<CompressedLayer> | undefined
    const open = async () => {
      const compressing = await layer.compress()
      last = compressing.measured
      last.then(measured, () => {})
      return { body: compressing.body, sent: compressing.measured }
    }
    await withRetries(
      () => target.pushStreamed(open, layer.what, { signal }),
      restartRule({ ...this.options, signal, what: layer.what, from: 'the archive' })
    )
    return (await last) as CompressedLayer
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
