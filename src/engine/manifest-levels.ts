/**
 * A copy's missing manifests written once its blobs are in: children before parents, and the
 * manifests of one level at once, so over a slow link the round trips of an index's children
 * overlap instead of adding up. The root comes last, alone.
 */
import { forEachLimit } from '../concurrency.js'
import { RegistryError } from '../errors.js'
import { childManifests } from '../manifest.js'
import type { Target } from '../storage.js'
import { param } from '../words.js'
import type { CopyStats, EventSink } from './events.js'
import { manifestsChildrenFirst, type ArtifactGraph, type GraphNode } from './graph.js'
import { isDockerManifestType } from './media-conversion.js'

export interface ManifestWrites {
  target: Target
  /** Manifests written at once, within a level. */
  concurrency: number
  events: EventSink
  stats: CopyStats
}

/** Pushes the manifests of `graph` that `missing` names, level by level ({@link manifestLevels}). */
export async function pushManifestLevels(graph: ArtifactGraph, missing: ReadonlySet<string>, writes: ManifestWrites): Promise<void> {
  const { target, stats, events } = writes
  for (const level of manifestLevels(graph, missing)) {
    await forEachLimit(level, writes.concurrency, async (node) => {
      await pushManifest(target, node)
      stats.manifestsPushed++
      events({ type: 'manifest-written', target: target.name, digest: node.descriptor.digest })
    })
  }
}

/** Missing manifests in levels: each level's children are all in earlier levels; the root comes last, alone. */
export function manifestLevels(graph: ArtifactGraph, missing: ReadonlySet<string>): GraphNode[][] {
  const ordered = manifestsChildrenFirst(graph, (n) => missing.has(n.descriptor.digest))
  const level = new Map<string, number>()
  const levels: GraphNode[][] = []
  for (const node of ordered) {
    const depth = Math.max(-1, ...childManifests(node.manifest).map((d) => level.get(d.digest) ?? -1)) + 1
    level.set(node.descriptor.digest, depth)
    ;(levels[depth] ??= []).push(node)
  }
  return levels.filter((nodes) => nodes.length > 0)
}

/**
 * Pushes one manifest. Some registries (Google Artifact Registry) refuse a Docker manifest or list
 * that carries annotations, which its spec does not define: say how to get past that.
 */
export async function pushManifest(target: Target, node: GraphNode): Promise<void> {
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
