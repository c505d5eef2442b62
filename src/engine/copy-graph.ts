/**
 * Copies an artifact graph from a source to a target: blobs first, then manifests children first,
 * the root last. What the target already has is skipped: a manifest that exists there stands for
 * everything below it. Tags are not written here; the caller writes them once every graph is in.
 */
import { forEachLimit, SMALL_BLOB_BYTES, SMALL_BLOB_CONCURRENCY, smallBlobsAtOnce } from '../concurrency.js'
import { DigestMismatchError, VerifyingStream } from '../digest.js'
import { setMaxListeners } from 'node:events'
import type { Readable } from 'node:stream'
import { ContentError, FileSystemError, isTransient, RegistryError, SourceError, wasRetried } from '../errors.js'
import { DEFAULT_RETRY, nextTryText, withRetries, type RetryPolicy } from '../retry.js'
import { showReference } from '../reference.js'
import { isDockerManifestType } from './media-conversion.js'
import type { Descriptor } from '../manifest.js'
import { isBlobMounter, isOrderedSource, isUploadPreparer, verifiesDigests, type Source, type Target } from '../storage.js'
import { childManifests } from '../manifest.js'
import { manifestKind } from '../media-types.js'
import { distributableBlobs, manifestsChildrenFirst, type ArtifactGraph, type GraphNode } from './graph.js'
import type { Logger } from '../log.js'

import type { BlobLocator } from './blob-locator.js'
import type { BlobOutcome, CopyStats, EventSink } from './events.js'
import { param, tokenMessage } from '../words.js'

export { emptyStats, type CopyStats } from './events.js'

export interface CopyGraphOptions {
  /** Blobs in flight at once. */
  concurrency: number
  /** Diagnostics (debug lines, retries); progress goes to `events`. */
  logger: Logger
  events: EventSink
  /** Counters to add to. */
  stats: CopyStats
  /**
   * The target already holds every blob (it is the source's own repository, and only manifests
   * were rewritten): push manifests alone, without a single blob request.
   */
  blobsInPlace?: boolean
  /** How blob transfers that fail transiently are restarted; the default policy otherwise. */
  retry?: RetryPolicy
  /**
   * Another store holding every blob already (an earlier destination on the same registry):
   * mounted from when the target can, so bytes cross the network once per registry.
   */
  mountFrom?: Source
  /** Where blobs are across a run of many copies (a mirror): mounted from when the target can. */
  locator?: BlobLocator
  /** Nothing of the graph is at the target: check, open the upload and read the source at once. */
  fresh?: boolean
  /** Blobs placed at a target before this copy began (a docker save's layers, see `ahead-uploads.ts`). */
  ahead?: AheadLookup
}

/**
 * How a blob placed ahead at `target` ended: the copy counts it as its own and moves nothing;
 * undefined (the lookup or its answer) when it was not placed there ahead, or that failed.
 */
export type AheadLookup = (blob: Descriptor, target: Target) => Promise<BlobOutcome | undefined> | undefined

/** Copies what `target` lacks of `graph`: {@link missingManifests}, then {@link copyMissing}. */
export async function copyGraph(graph: ArtifactGraph, source: Source, target: Target, options: CopyGraphOptions): Promise<void> {
  await copyMissing(graph, await missingManifests(graph, target), source, target, options)
}

/**
 * Copies the manifests `missing` names (found by {@link missingManifests}) and the blobs below
 * them: blobs first, then manifests children first, the root last.
 */
export async function copyMissing(
  graph: ArtifactGraph,
  missing: ReadonlySet<string>,
  source: Source,
  target: Target,
  options: CopyGraphOptions
): Promise<void> {
  const all = distributableBlobs(graph.nodes.values()).length
  if (missing.size === 0) {
    options.events({ type: 'target-up-to-date', target: target.name, digest: graph.root.descriptor.digest })
    options.stats.blobsSkipped += all
    return
  }
  const needed = options.blobsInPlace ? [] : distributableBlobs([...missing].map((digest) => graph.nodes.get(digest) as GraphNode))
  options.stats.blobsSkipped += all - needed.length
  if (needed.length > 0)
    options.events({
      type: 'transfer-planned',
      target: target.name,
      blobs: needed.length,
      bytes: needed.reduce((sum, b) => sum + b.size, 0)
    })
  // The first blob that fails aborts every transfer still running: the step fails now, not once
  // every other upload has finished.
  const controller = new AbortController()
  // Every transfer in flight listens on it (a download and an upload each, and retry waits).
  setMaxListeners(8 * (options.concurrency + SMALL_BLOB_CONCURRENCY) + 16, controller.signal)
  // Nothing of the graph is there (a new repository, most likely): the upload session is opened
  // alongside the existence check, and the source read, instead of after them.
  const placing = { ...options, fresh: missing.size === graph.nodes.size }
  await forEachBlob(needed, source, options.concurrency, controller, (blob) => copyBlob(blob, source, target, placing, controller.signal))
  // Children before parents, and the manifests of one level at once: over a slow link the round
  // trips of an index's children overlap instead of adding up.
  for (const level of manifestLevels(graph, missing)) {
    await forEachLimit(level, options.concurrency, async (node) => {
      await pushManifest(target, node)
      options.stats.manifestsPushed++
      options.events({ type: 'manifest-written', target: target.name, digest: node.descriptor.digest })
    })
  }
}

/**
 * Runs `copy` for every blob: a gzip'd archive's one at a time in the order it stores them (it is
 * read front to back); otherwise large blobs `concurrency` at once, largest first (the longest
 * transfer starts at once), and small ones four times as many at once beside them (at most
 * {@link SMALL_BLOB_CONCURRENCY}), since they cost round trips more than bytes. A concurrency of
 * 1 moves one blob at a time. The first failure aborts the rest and is what is thrown.
 */
async function forEachBlob(
  blobs: Descriptor[],
  source: Source,
  concurrency: number,
  controller: AbortController,
  copy: (blob: Descriptor) => Promise<void>
): Promise<void> {
  let first: { error: unknown } | undefined
  const fail = (error: unknown) => {
    first ??= { error }
    controller.abort(error)
  }
  if (isOrderedSource(source) && source.sequential) {
    blobs.sort((a, b) => source.blobOrder(a.digest) - source.blobOrder(b.digest))
    await forEachLimit(blobs, 1, copy, fail)
    return
  }
  blobs.sort((a, b) => b.size - a.size)
  // One at a time means one at a time, small blobs too.
  if (concurrency <= 1) {
    await forEachLimit(blobs, 1, copy, fail)
    return
  }
  const large = blobs.filter((b) => b.size >= SMALL_BLOB_BYTES)
  const small = blobs.filter((b) => b.size < SMALL_BLOB_BYTES)
  await Promise.allSettled([forEachLimit(large, concurrency, copy, fail), forEachLimit(small, smallBlobsAtOnce(concurrency), copy, fail)])
  if (first) throw first.error
}

/** Missing manifests in waves: each wave's children are all in earlier waves; the root comes last, alone. */
function manifestLevels(graph: ArtifactGraph, missing: ReadonlySet<string>): GraphNode[][] {
  const ordered = manifestsChildrenFirst(graph, (n) => missing.has(n.descriptor.digest))
  const level = new Map<string, number>()
  const waves: GraphNode[][] = []
  for (const node of ordered) {
    const depth = Math.max(-1, ...childManifests(node.manifest).map((d) => level.get(d.digest) ?? -1)) + 1
    level.set(node.descriptor.digest, depth)
    ;(waves[depth] ??= []).push(node)
  }
  return waves.filter((wave) => wave.length > 0)
}

/**
 * Pushes one manifest. Some registries (Google Artifact Registry) refuse a Docker manifest or list
 * that carries annotations, which its spec does not define: say how to get past that.
 */
async function pushManifest(target: Target, node: GraphNode): Promise<void> {
  try {
    await target.pushManifest(node.descriptor, node.bytes)
  } catch (error) {
    const annotatedDocker = isDockerManifestType(node.descriptor.mediaType) && hasAnnotations(node)
    if (error instanceof RegistryError && error.status === 400 && annotatedDocker && !error.hint) {
      throw new RegistryError(
        error.operation,
        error.reference,
        error.status,
        error.details,
        `this registry refuses annotations on Docker manifests: set ${param('ociMediaTypes', 'true')}`
      )
    }
    throw error
  }
}

function hasAnnotations(node: GraphNode): boolean {
  const { manifest } = node
  return manifest.annotations !== undefined || childManifests(manifest).some((d) => d.annotations !== undefined)
}

/** Graphs up to this many manifests are checked all at once; larger ones top down. */
const CHECK_AT_ONCE = 32

/** Whether a target has a manifest, by digest: HEADs sent before the graph was loaded. */
export type EarlyAnswers = ReadonlyMap<string, Promise<boolean>>

/**
 * Asks `target` now whether it has `root` and the manifests `root` names, while the caller loads
 * the graph: one round trip less for an index, whose children's digests are in it. Only for an
 * index of images, small enough to be checked all at once ({@link missingManifests}): below nested
 * indexes the graph may be too large for that, and is checked top down. A failed HEAD shows when
 * its answer is read.
 */
export function askEarly(root: GraphNode, target: Target): EarlyAnswers | undefined {
  const children = childManifests(root.manifest)
  if (children.length === 0 || children.length + 1 > CHECK_AT_ONCE) return undefined
  if (children.some((child) => manifestKind(child.mediaType) === 'index')) return undefined
  const answers = new Map<string, Promise<boolean>>()
  for (const descriptor of [root.descriptor, ...children]) {
    if (answers.has(descriptor.digest)) continue
    const answer = target.manifestExists(descriptor)
    // Unread when the graph fails to load: not an unhandled rejection.
    answer.catch(() => {})
    answers.set(descriptor.digest, answer)
  }
  return answers
}

/**
 * Digests of the manifests the target lacks: a manifest present covers its subtree. A graph of a
 * few manifests (an index and its children) is asked all at once, one round trip instead of one
 * per level; a larger one top down, so a present root spares every other question.
 */
export async function missingManifests(graph: ArtifactGraph, target: Target, asked?: EarlyAnswers): Promise<Set<string>> {
  const present = new Set<string>()
  const check = async (node: GraphNode) => {
    if (await (asked?.get(node.descriptor.digest) ?? target.manifestExists(node.descriptor))) present.add(node.descriptor.digest)
  }
  if (graph.nodes.size <= CHECK_AT_ONCE) await forEachLimit([...graph.nodes.values()], CHECK_AT_ONCE, check)
  const missing = new Set<string>()
  const visit = async (node: GraphNode): Promise<void> => {
    if (missing.has(node.descriptor.digest) || present.has(node.descriptor.digest)) return
    if (graph.nodes.size > CHECK_AT_ONCE) await check(node)
    if (present.has(node.descriptor.digest)) return
    missing.add(node.descriptor.digest)
    const children = childManifests(node.manifest).map((d) => graph.nodes.get(d.digest) as GraphNode)
    await forEachLimit(children, 4, visit)
  }
  await visit(graph.root)
  return missing
}

/** Cheapest path first: placed ahead, else mount from the same registry, else skip what exists, else stream. */
async function copyBlob(blob: Descriptor, source: Source, target: Target, options: CopyGraphOptions, signal: AbortSignal): Promise<void> {
  // Waited for as long as this copy runs: a failure elsewhere ends the wait (the upload itself is stopped by its owner).
  const ahead = await untilAborted(options.ahead?.(blob, target), signal)
  if (ahead) {
    // Its events went out as it happened; its count is this copy's.
    countOutcome(options.stats, ahead, blob)
    return
  }
  const { found, settle } = options.locator?.locate(blob.digest, target) ?? {}
  try {
    const where = await found
    if (where?.kind === 'present') {
      options.stats.blobsSkipped++
      options.events({ type: 'blob-done', target: target.name, digest: blob.digest, size: blob.size, outcome: 'present' })
    } else await placeBlob(blob, source, target, options, signal, where?.from)
    settle?.(true)
  } catch (error) {
    settle?.(false)
    options.events({ type: 'blob-failed', target: target.name, digest: blob.digest, size: blob.size })
    throw error
  }
}

/** Mount from a store on the target's registry that has it, else skip what exists, else stream; how it ended. */
async function placeBlob(
  blob: Descriptor,
  source: Source,
  target: Target,
  options: CopyGraphOptions,
  signal: AbortSignal,
  located: Source | undefined
): Promise<BlobOutcome> {
  const outcome = await findPlace(blob, source, target, options, signal, located)
  if (outcome.kind === 'upload') {
    await uploadBlob(blob, source, target, options, signal, outcome.prefetched)
    return 'uploaded'
  }
  countOutcome(options.stats, outcome.kind, blob)
  options.events({ type: 'blob-done', target: target.name, digest: blob.digest, size: blob.size, outcome: outcome.kind })
  return outcome.kind
}

/**
 * Places one blob at `target` before a copy of its graph is planned (a docker save's layer as soon
 * as it is compressed): as the copy would, with its events, but counted apart (in `options.stats`)
 * and without retries of the whole: a failure here is the copy's to try again.
 */
export function placeBlobAhead(
  blob: Descriptor,
  source: Source,
  target: Target,
  options: Omit<CopyGraphOptions, 'locator' | 'ahead' | 'fresh' | 'mountFrom' | 'blobsInPlace'>,
  signal: AbortSignal
): Promise<BlobOutcome> {
  return placeBlob(blob, source, target, options, signal, undefined)
}

/** `answer`, or the abort's reason as soon as `signal` is aborted, whichever comes first. */
async function untilAborted<T>(answer: Promise<T> | undefined, signal: AbortSignal): Promise<T | undefined> {
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

function countOutcome(stats: CopyStats, outcome: BlobOutcome, blob: Descriptor): void {
  if (outcome === 'uploaded') {
    stats.blobsUploaded++
    stats.bytesUploaded += blob.size
  } else if (outcome === 'mounted') stats.blobsMounted++
  else stats.blobsSkipped++
}

type Place = { kind: 'mounted' | 'present' } | { kind: 'upload'; prefetched?: Promise<Readable> }

/**
 * Mounted from a store on the target's registry, there already, or to upload — with, where
 * nothing of the graph is at the target, the upload session and the source read started
 * alongside the existence check (one round trip where three followed each other).
 */
async function findPlace(
  blob: Descriptor,
  source: Source,
  target: Target,
  options: CopyGraphOptions,
  signal: AbortSignal,
  located: Source | undefined
): Promise<Place> {
  const mountFrom = located ?? options.mountFrom
  const mountSource = mountFrom && isBlobMounter(target) && target.canMountFrom(mountFrom) ? mountFrom : source
  if (isBlobMounter(target) && target.canMountFrom(mountSource)) {
    if (await target.mountBlob(blob, mountSource, { signal })) {
      options.logger.debug(`mounted ${blob.digest}`)
      return { kind: 'mounted' }
    }
    options.logger.debug(`mount of ${blob.digest} refused; uploading`)
    return { kind: 'upload' }
  }
  if (!options.fresh || !isUploadPreparer(target)) return (await target.blobExists(blob)) ? { kind: 'present' } : { kind: 'upload' }
  // Listened to at once: a download that breaks before its upload starts is an error kept on the
  // stream (`errored`), read when the upload takes it, not an unhandled one.
  const prefetched = source.fetchBlob(blob, { signal }).then((stream) => stream.on('error', () => {}))
  prefetched.catch(() => {})
  const [exists] = await Promise.all([target.blobExists(blob), target.prepareUpload(blob, { signal })]).catch(async (error: unknown) => {
    await release(prefetched)
    throw error
  })
  if (!exists) return { kind: 'upload', prefetched }
  await release(prefetched)
  void target.abandonUpload(blob)
  return { kind: 'present' }
}

/** Streams the blob from the source (or the download fetched ahead) to the target, verified, restarted as the policy allows. */
async function uploadBlob(
  blob: Descriptor,
  source: Source,
  target: Target,
  options: CopyGraphOptions,
  signal: AbortSignal,
  prefetched: Promise<Readable> | undefined
): Promise<void> {
  const { stats, events } = options
  const reference = showReference(source.name, blob.digest)
  const hash = !verifiesDigests(target)
  const open = async () => {
    events({ type: 'blob-started', target: target.name, digest: blob.digest, size: blob.size })
    // The first try reads what was fetched ahead; a restart reads the source again.
    const fetching = prefetched ?? source.fetchBlob(blob, { signal })
    prefetched = undefined
    return verifiedSourceStream(await fetching, blob, reference, hash, progressOf(blob, target, events))
  }
  try {
    await pushWithRestarts(blob, target, open, options, signal)
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
  countOutcome(stats, 'uploaded', blob)
  events({ type: 'blob-done', target: target.name, digest: blob.digest, size: blob.size, outcome: 'uploaded' })
}

/** Drops a download fetched ahead and not needed: its body is destroyed, the abort it raises ignored. */
async function release(fetching: Promise<Readable> | undefined): Promise<void> {
  const stream = await fetching?.catch(() => undefined)
  if (!stream) return
  stream.on('error', () => {})
  stream.destroy()
}

/**
 * A push that fails transiently (a reset, a 5xx, a source cut short, a token that expired on the
 * way) starts over from the source in a new upload session, never resuming bytes of unknown
 * state; within the retry policy. The time a try spent streaming does not count against the
 * policy's time budget, only the waits do. A request the client has already retried (the upload's
 * POST, the source's GET) is not tried again here: each operation is retried in one place.
 */
async function pushWithRestarts(
  blob: Descriptor,
  target: Target,
  open: () => Promise<Readable>,
  options: CopyGraphOptions,
  signal: AbortSignal
): Promise<void> {
  const policy = options.retry ?? DEFAULT_RETRY
  let refreshed = false
  // A 401 mid-push is a token that expired: the client has learned a new one; once, at once.
  const expired = (error: unknown) => error instanceof RegistryError && error.status === 401 && !wasRetried(error)
  await withRetries(() => target.pushBlob(blob, open, { signal }), {
    policy,
    retryable: (error) => {
      if (!expired(error)) return isTransient(error) && !wasRetried(error)
      if (refreshed) return false
      refreshed = true
      return true
    },
    retryAfterMs: (error) => (expired(error) ? 0 : error instanceof RegistryError ? error.retryAfterMs : undefined),
    onRetry: (error, delay, next) =>
      options.logger.info(`${tokenMessage(error)}; uploading ${blob.digest} again from the source ${nextTryText(delay, next, policy)}`),
    countTries: false,
    signal
  })
}

/**
 * The source's bytes as every target gets them: size (and, unless the target checks it, digest)
 * verified on the way, in this one place, and the source's own errors named as the source's (not taken for the destination's).
 */
function verifiedSourceStream(
  stream: Readable,
  blob: Descriptor,
  reference: string,
  hash: boolean,
  onProgress: (count: number) => void
): Readable {
  // A registry target hashes the bytes itself (and refuses a mismatch): then only the size is checked here.
  const verifier = new VerifyingStream(blob, { digest: hash, onProgress })
  // A file the source cannot read (a layout's) is named as it is, and not read again: trying does not change it.
  const fail = (error: Error) =>
    verifier.destroy(error instanceof ContentError || error instanceof FileSystemError ? error : new SourceError(reference, error.message))
  stream.on('error', fail)
  verifier.on('close', () => stream.destroy())
  // A download fetched ahead may have broken before anyone read it: its error is already past.
  if (stream.errored) fail(stream.errored)
  else if (stream.destroyed && !stream.readableEnded) fail(new Error('the download was closed before its end'))
  return stream.pipe(verifier)
}

/** Bytes between two progress events of one blob: a few events per second at full speed, not one per chunk. */
const PROGRESS_STEP = 4 * 1024 * 1024

/** A blob's streamed bytes as `blob-progress` events, every {@link PROGRESS_STEP} and at the end. */
function progressOf(blob: Descriptor, target: Target, events: EventSink): (count: number) => void {
  let reported = 0
  return (count) => {
    if (count - reported < PROGRESS_STEP && count !== blob.size) return
    reported = count
    events({ type: 'blob-progress', target: target.name, digest: blob.digest, done: count, size: blob.size })
  }
}
