/**
 * The copy engine: resolves the source, plans the destinations, checks the size limit from
 * manifests alone, copies the graph once per destination repository, and only then writes tags,
 * so no tag ever points at something that is not completely stored.
 */
import { SizeLimitError } from '../errors.js'
import type { Logger } from '../log.js'
import { formatReference, repositoryName, sameRepository, type Reference } from '../reference.js'
import type { Registries } from '../registry/registries.js'
import type { Target } from '../storage.js'
import { formatBytes, UNLIMITED } from '../size.js'
import { copyGraph, emptyStats, type CopyStats } from './copy-graph.js'
import { destinationName, planDestinations, type Destination } from './destinations.js'
import { artifactSize, fetchRoot, loadGraph, type GraphNode } from './graph.js'

export interface CopyRequest {
  /** Has a tag or a digest (or both: the digest is what is copied). */
  source: Reference
  destinations: readonly Reference[]
  /** Bytes allowed across repositories: 0 refuses such copies, {@link UNLIMITED} allows any. */
  maxArtifactSize: number
  /** Blobs in flight at once; 4 by default. */
  concurrency?: number
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
  stats: CopyStats
  seconds: number
}

export async function copyArtifact(registries: Registries, request: CopyRequest, logger: Logger): Promise<CopyResult> {
  const started = Date.now()
  const source = await registries.repository(request.source, 'source')
  const root = await fetchRoot(source, (request.source.digest ?? request.source.tag) as string)
  logger.info(`${formatReference(request.source)} is ${root.descriptor.mediaType} ${root.descriptor.digest}`)

  const destinations = planDestinations(request.source, request.destinations)
  const stats = emptyStats()
  const targets = new Map<string, { reference: Reference; target: Target }>()
  for (const dest of destinations) {
    const key = repositoryName(dest.reference)
    if (!targets.has(key))
      targets.set(key, { reference: dest.reference, target: await registries.repository(dest.reference, 'destination') })
  }

  const crossRepository = [...targets.values()].filter((t) => !sameRepository(request.source, t.reference)).map((t) => t.target)
  if (crossRepository.length > 0) {
    const graph = await loadGraph(source, root)
    checkSizeLimit(artifactSize(graph), request.maxArtifactSize)
    for (const target of crossRepository) {
      const before = { ...stats }
      await copyGraph(graph, source, target, { concurrency: request.concurrency ?? 4, logger, stats })
      logger.info(
        `Copied to ${target.name}: ${stats.blobsUploaded - before.blobsUploaded} blobs uploaded ` +
          `(${formatBytes(stats.bytesUploaded - before.bytesUploaded)}), ${stats.blobsMounted - before.blobsMounted} mounted, ` +
          `${stats.blobsSkipped - before.blobsSkipped} already there`
      )
    }
  }

  const pushed: PushedReference[] = []
  for (const dest of destinations) {
    await writeTag(dest, (targets.get(repositoryName(dest.reference)) as { target: Target }).target, root, logger)
    const { digest, mediaType, size } = root.descriptor
    pushed.push({ ref: destinationName(dest, digest), ...(dest.tag ? { tag: dest.tag } : {}), digest, mediaType, size })
  }
  const { digest, mediaType, size } = root.descriptor
  return { digest, mediaType, size, pushed, stats, seconds: (Date.now() - started) / 1000 }
}

async function writeTag(dest: Destination, target: Target, root: GraphNode, logger: Logger): Promise<void> {
  const name = destinationName(dest, root.descriptor.digest)
  if (dest.unchanged) {
    logger.info(`${name} already is ${root.descriptor.digest}`)
  } else if (dest.tag) {
    await target.pushManifest(root.descriptor, root.bytes, dest.tag)
    logger.info(`Tagged ${name}`)
  } else {
    logger.info(`Stored ${name}`)
  }
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
