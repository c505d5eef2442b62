/**
 * `referrers: true`: what refers to the copied manifests (signatures, SBOMs, attestations) comes
 * along. For every manifest pushed with the source's own bytes (the root and, in an index, each
 * child): the referrers API or the tag schema index at the source, and cosign's older
 * `sha256-<hex>.sig` / `.att` / `.sbom` tags. Each referrer is copied with its own graph (and its
 * own referrers, a few levels deep), then recorded at the destination the way the destination
 * supports. A manifest pushed with new bytes (annotations, platforms, media types) has a new
 * digest that nothing refers to: its source referrers name the old digest and stay behind, and a
 * notice counts them. Any lookup that fails for another reason than "none exist" fails the copy.
 */
import { copyGraph, type CopyGraphOptions } from './copy-graph.js'
import type { LeftBehind } from './plan.js'
import { fetchRoot, loadGraph, type ArtifactGraph, type GraphNode } from './graph.js'
import { isReadable, type Source, type Target } from '../storage.js'
import { ReferrersLookupError, referrersTag } from '../referrers.js'
import { holdsReferrers, ifTagged, listReferrers, recordReferrer } from './referrers-store.js'

/** Referrers of referrers are followed this deep: a signature of an SBOM of an image. */
const MAX_DEPTH = 3
const COSIGN_SUFFIXES = ['.sig', '.att', '.sbom'] as const

export interface CopiedReferrer {
  subject: string
  digest: string
  /** `artifactType`, or the cosign tag it was found under. */
  kind: string
}

/**
 * Copies the referrers of `subjects` (digests of manifests pushed as the source has them) from
 * `source` to `targets`. `leftBehind` lists source manifests that are not pushed as they are (old
 * → what is pushed instead): their referrers are counted in a notice, not copied.
 */
export async function copyReferrers(
  source: Source,
  subjects: readonly string[],
  leftBehind: readonly LeftBehind[],
  targets: readonly Target[],
  options: CopyGraphOptions
): Promise<CopiedReferrer[]> {
  if (!holdsReferrers(source)) {
    options.logger.notice(`referrers: ${source.name} is not a registry or an OCI layout directory and holds no referrers; none copied`)
    return []
  }
  for (const { from, to } of leftBehind) {
    const left = await countReferrers(source, from)
    if (left > 0) {
      options.logger.notice(
        `Referrers left behind: ${from} has ${left} (signatures, SBOMs, attestations) but is pushed as ${to} ` +
          `(annotations, platforms or ociMediaTypes), and a referrer names the exact digest it refers to; attach them to ${to} again where they still apply`
      )
    }
  }
  return copyReferrersOf(source, subjects, targets, options, 0)
}

async function copyReferrersOf(
  source: Source,
  subjects: Iterable<string>,
  targets: readonly Target[],
  options: CopyGraphOptions,
  depth: number
): Promise<CopiedReferrer[]> {
  const copied: CopiedReferrer[] = []
  if (depth >= MAX_DEPTH) return copied
  for (const subject of subjects) {
    const { referrers } = await listReferrers(source, subject)
    for (const referrer of referrers) {
      const referrerGraph = await copyOne(source, referrer.digest, targets, options)
      for (const target of targets) if (isReadable(target)) await recordReferrer(target, subject, referrer)
      copied.push({ subject, digest: referrer.digest, kind: referrer.artifactType ?? referrer.mediaType })
      for (const more of await copyReferrersOf(source, referrerGraph.nodes.keys(), targets, options, depth + 1)) copied.push(more)
    }
    for (const suffix of COSIGN_SUFFIXES) {
      const tag = `${referrersTag(subject)}${suffix}`
      const root = await cosignRoot(source, subject, tag)
      if (!root) continue
      await copyOne(source, root.descriptor.digest, targets, options)
      for (const target of targets) await target.pushManifest(root.descriptor, root.bytes, tag)
      copied.push({ subject, digest: root.descriptor.digest, kind: `cosign ${suffix.slice(1)} tag` })
    }
  }
  return copied
}

/** What cosign tagged `tag` for `subject`, or undefined when there is no such tag. */
async function cosignRoot(source: Source, subject: string, tag: string): Promise<GraphNode | undefined> {
  try {
    return await ifTagged(source, tag, () => fetchRoot(source, tag))
  } catch (error) {
    throw new ReferrersLookupError(source.name, subject, `the cosign tag ${tag}`, error as Error)
  }
}

/** Referrers of `subject` at the source: listed (API or tag schema) and cosign-tagged. */
async function countReferrers(source: Source, subject: string): Promise<number> {
  let count = (await listReferrers(source, subject)).referrers.length
  for (const suffix of COSIGN_SUFFIXES) if (await cosignRoot(source, subject, `${referrersTag(subject)}${suffix}`)) count++
  return count
}

async function copyOne(source: Source, digest: string, targets: readonly Target[], options: CopyGraphOptions): Promise<ArtifactGraph> {
  const graph = await loadGraph(source, await fetchRoot(source, digest))
  for (const target of targets) await copyGraph(graph, source, target, options)
  return graph
}
