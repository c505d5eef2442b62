/**
 * The copy engine: resolves the source, plans the destinations, checks the size limit from
 * manifests alone, copies the graph once per destination repository, and only then writes tags,
 * so no tag ever points at something that is not completely stored.
 */
import { SizeLimitError } from '../errors.js'
import type { Logger } from '../log.js'
import { endpointDigest, endpointTag, formatEndpoint, storeKey, type Endpoint } from '../endpoint.js'
import { DEFAULT_CONCURRENCY } from '../registry/registries.js'
import type { RetryPolicy } from '../http/retry.js'
import { copyReferrers, type CopiedReferrer } from '../referrers/copy-referrers.js'
import { isBlobMounter, isPinning, isReadable, sharesBlobs, type Opener, type Source, type Target } from '../storage.js'
import { formatBytes, UNLIMITED } from '../size.js'
import { copyGraph, emptyStats, type CopyStats } from './copy-graph.js'
import { destinationName, planDestinations, type Destination } from './destinations.js'
import { artifactSize, configPlatform, fetchRoot, loadGraph, type GraphNode } from './graph.js'
import { rewriteGraph, type RewriteResult, type RewrittenManifest } from './annotate.js'
import { selectPlatforms } from './platform-filter.js'
import type { AnnotationRule } from '../annotations.js'
import type { PlatformSpec } from '../platform.js'

export interface CopyRequest {
  /**
   * A registry source has a tag or a digest (or both: the digest is what is copied); a layout
   * without either stands for its only entry.
   */
  source: Endpoint
  destinations: readonly Endpoint[]
  /** Bytes allowed from one registry repository to another ({@link sizeLimitApplies}): 0 refuses such copies, {@link UNLIMITED} allows any. */
  maxArtifactSize: number
  /** Blobs in flight at once; the same setting sizes the connection pool ({@link DEFAULT_CONCURRENCY}). */
  concurrency?: number
  /** How transient faults are retried; {@link DEFAULT_RETRY} by default. */
  retry?: RetryPolicy
  /** Annotations to add (DESIGN §4 scopes). */
  annotations?: readonly AnnotationRule[]
  /** Only these platforms of an index. */
  platforms?: readonly PlatformSpec[]
  /** Convert Docker v2 manifests and lists to OCI media types. */
  ociMediaTypes?: boolean
  /** Also copy what refers to the copied manifests (signatures, SBOMs, attestations). */
  referrers?: boolean
}

export interface PushedReference {
  ref: string
  /** The tag written, or undefined when pushed by digest alone. */
  tag?: string
  digest: string
  mediaType: string
  size: number
}

export interface CopyResult {
  digest: string
  mediaType: string
  size: number
  /** Every destination written, in the order given. */
  pushed: PushedReference[]
  /** Manifests written with new bytes (annotations, platforms, media types): old → new digest. */
  rewritten: RewrittenManifest[]
  /** Referrers copied along (`referrers: true`). */
  referrers: CopiedReferrer[]
  stats: CopyStats
  seconds: number
}

export async function copyArtifact(opener: Opener<Endpoint>, request: CopyRequest, logger: Logger): Promise<CopyResult> {
  const started = Date.now()
  const source = await opener.source(request.source)
  const original = await fetchRoot(source, endpointDigest(request.source) ?? endpointTag(request.source) ?? '')
  logger.info(`${formatEndpoint(request.source)} is ${original.descriptor.mediaType} ${original.descriptor.digest}`)

  const transformed = await transform(source, original, request, logger)
  const root = transformed?.graph.root ?? original
  // What is pushed differs from the source's manifest: even the source's own tag must move.
  const changed = root !== original
  const destinations = planDestinations(request.source, request.destinations).map((d) => (changed ? { ...d, unchanged: false } : d))
  const stats = emptyStats()
  const targets = new Map<string, Target>()
  for (const dest of destinations) {
    const key = storeKey(dest.endpoint)
    if (!targets.has(key)) targets.set(key, await opener.target(dest.endpoint))
  }

  // Asked of each pair: a target that holds the source's blobs (same repository, same layout) gets manifests only.
  const crossRepository = [...targets.values()].filter((target) => !sharesBlobs(target, source))
  const sameRepositoryTargets = [...targets.values()].filter((target) => sharesBlobs(target, source))
  if (crossRepository.length > 0) {
    const graph = transformed?.graph ?? (await loadGraph(source, original))
    if (sizeLimitApplies(request.source, destinations)) checkSizeLimit(artifactSize(graph), request.maxArtifactSize)
    const done: Target[] = []
    for (const target of crossRepository) {
      const before = { ...stats }
      // A later destination on the registry of an earlier one mounts from it: blobs move once per registry.
      const mountFrom = done.find((earlier) => isBlobMounter(target) && isReadable(earlier) && target.canMountFrom(earlier))
      await copyGraph(graph, source, target, {
        concurrency: request.concurrency ?? DEFAULT_CONCURRENCY,
        logger,
        stats,
        ...retryOf(request),
        ...(mountFrom && isReadable(mountFrom) ? { mountFrom } : {})
      })
      done.push(target)
      logger.info(
        `Copied to ${target.name}: ${stats.blobsUploaded - before.blobsUploaded} blobs uploaded ` +
          `(${formatBytes(stats.bytesUploaded - before.bytesUploaded)}), ${stats.blobsMounted - before.blobsMounted} mounted, ` +
          `${stats.blobsSkipped - before.blobsSkipped} already there`
      )
    }
  }
  // Referrers of the source's manifests, to every destination that is not the source's own
  // repository; those of rewritten manifests name digests that are not pushed, and are counted.
  const referrers =
    request.referrers && crossRepository.length > 0
      ? await copyReferrers(
          source,
          transformed?.graph ?? (await loadGraph(source, original)),
          crossRepository,
          { concurrency: request.concurrency ?? DEFAULT_CONCURRENCY, logger, stats, ...retryOf(request) },
          transformed?.rewritten ?? []
        )
      : []
  for (const r of referrers) logger.info(`Copied referrer ${r.digest} (${r.kind}) of ${r.subject}`)
  if (transformed && changed) {
    // The source's repository has every blob already: only the new manifests go there.
    for (const target of sameRepositoryTargets) {
      await copyGraph(transformed.graph, source, target, {
        concurrency: request.concurrency ?? DEFAULT_CONCURRENCY,
        logger,
        stats,
        blobsInPlace: true,
        ...retryOf(request)
      })
    }
  }

  const pushed: PushedReference[] = []
  for (const dest of destinations) {
    try {
      await writeTag(dest, targets.get(storeKey(dest.endpoint)) as Target, root, logger)
    } catch (error) {
      if (pushed.length > 0 && error instanceof Error) throw new PartialCopyError(error, pushed)
      throw error
    }
    const { digest, mediaType, size } = root.descriptor
    pushed.push({ ref: destinationName(dest, digest), ...(dest.tag ? { tag: dest.tag } : {}), digest, mediaType, size })
  }
  const { digest, mediaType, size } = root.descriptor
  return {
    digest,
    mediaType,
    size,
    pushed,
    rewritten: transformed?.rewritten ?? [],
    referrers,
    stats,
    seconds: (Date.now() - started) / 1000
  }
}

/**
 * Writing a tag failed after others were written (every blob and manifest was already in place,
 * so those tags point at complete artifacts): the message says which were written.
 */
export class PartialCopyError extends Error {
  constructor(
    readonly failure: Error,
    readonly written: readonly PushedReference[]
  ) {
    super(`${failure.message}; written before the failure: ${written.map((p) => p.ref).join(', ')}`)
    this.name = 'PartialCopyError'
  }
}

/** Platforms, annotations and media types applied to the whole graph, when any is asked for. */
async function transform(source: Source, root: GraphNode, request: CopyRequest, logger: Logger): Promise<RewriteResult | undefined> {
  const rules = request.annotations ?? []
  if (rules.length === 0 && !request.platforms?.length && !request.ociMediaTypes) return undefined
  const imagePlatform = (node: GraphNode) => configPlatform(source, node)
  let graph = await loadGraph(source, root)
  if (request.platforms?.length) graph = await selectPlatforms(graph, request.platforms, imagePlatform)
  const result = await rewriteGraph(graph, { rules, ociMediaTypes: request.ociMediaTypes ?? false, imagePlatform })
  for (const notice of result.notices) logger.notice(notice)
  for (const { from, to } of result.rewritten) logger.info(`Rewrote ${from} as ${to}`)
  return result
}

function retryOf(request: CopyRequest): { retry?: RetryPolicy } {
  return request.retry ? { retry: request.retry } : {}
}

async function writeTag(dest: Destination, target: Target, root: GraphNode, logger: Logger): Promise<void> {
  const name = destinationName(dest, root.descriptor.digest)
  if (dest.unchanged) {
    logger.info(`${name} already is ${root.descriptor.digest}`)
  } else if (dest.tag) {
    await target.pushManifest(root.descriptor, root.bytes, dest.tag)
    logger.info(`Tagged ${name}`)
  } else {
    if (isPinning(target)) await target.pin(root.descriptor)
    logger.info(`Stored ${name}`)
  }
}

/**
 * DESIGN §2: `maxArtifactSize` guards copies from one registry repository to another. Archives,
 * packaged paths and layouts, read or written, are the user's own files: not limited by it.
 */
export function sizeLimitApplies(source: Endpoint, destinations: readonly Destination[]): boolean {
  return source.kind === 'registry' && destinations.some((d) => d.endpoint.kind === 'registry' && storeKey(d.endpoint) !== storeKey(source))
}

/** Refuses a cross-repository copy over the limit, in human units, before any byte moves. */
export function checkSizeLimit(size: number, limit: number): void {
  if (limit === UNLIMITED) return
  if (limit === 0) {
    throw new SizeLimitError(size, limit, 'cross-repository push is disabled (maxArtifactSize is 0); set maxArtifactSize to allow it')
  }
  if (size > limit) {
    throw new SizeLimitError(size, limit, `${formatBytes(size)} exceeds the limit of ${formatBytes(limit)}; raise maxArtifactSize`)
  }
}
