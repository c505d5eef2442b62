/**
 * What a target lacks of a graph, by manifest: a manifest present covers its subtree. For an
 * index, the question can be put early, while the graph is still being loaded ({@link askEarly}).
 */
import { forEachLimit } from '../concurrency.js'
import { childManifests } from '../manifest.js'
import { manifestKind } from '../media-types.js'
import type { Target } from '../storage.js'
import type { ArtifactGraph, GraphNode } from './graph.js'

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
 * Digests of the manifests the target lacks. A graph of a few manifests (an index and its
 * children) is asked all at once, one round trip instead of one per level; a larger one top
 * down, so a present root spares every other question.
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
