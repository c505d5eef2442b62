/**
 * Copies an artifact graph from a source to a target: blobs first, then manifests children first,
 * the root last. What the target already has is skipped: a manifest that exists there stands for
 * everything below it. Tags are not written here; the caller writes them once every graph is in.
 *
 * What it is made of: `missing-manifests.ts` (what the target lacks), `blob-schedule.ts` (which
 * blobs run when), `copy-blob.ts` (one blob, cheapest path first) and `manifest-levels.ts`
 * (manifests, children first).
 */
import type { Source, Target } from '../storage.js'
import { forEachBlob } from './blob-schedule.js'
import { copyBlob, type BlobCopy } from './copy-blob.js'
import { distributableBlobs, type ArtifactGraph, type GraphNode } from './graph.js'
import { pushManifestLevels } from './manifest-levels.js'
import { missingManifests } from './missing-manifests.js'

export interface CopyGraphOptions extends Omit<BlobCopy, 'source' | 'target' | 'signal' | 'fresh'> {
  /** Blobs in flight at once. */
  concurrency: number
  /**
   * The target already holds every blob (it is the source's own repository, and only manifests
   * were rewritten): push manifests alone, without a single blob request.
   */
  blobsInPlace?: boolean
}

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
  const { stats, events, concurrency } = options
  const all = distributableBlobs(graph.nodes.values()).length
  if (missing.size === 0) {
    events({ type: 'target-up-to-date', target: target.name, digest: graph.root.descriptor.digest })
    stats.blobsSkipped += all
    return
  }
  const needed = options.blobsInPlace ? [] : distributableBlobs([...missing].map((digest) => graph.nodes.get(digest) as GraphNode))
  stats.blobsSkipped += all - needed.length
  if (needed.length > 0)
    events({ type: 'transfer-planned', target: target.name, blobs: needed.length, bytes: needed.reduce((sum, b) => sum + b.size, 0) })
  // Nothing of the graph is there (a new repository, most likely): the upload session is opened
  // alongside the existence check, and the source read, instead of after them.
  const fresh = missing.size === graph.nodes.size
  await forEachBlob(needed, { source, concurrency }, (blob, signal) => copyBlob(blob, { ...options, source, target, signal, fresh }))
  await pushManifestLevels(graph, missing, { target, concurrency, events, stats })
}
