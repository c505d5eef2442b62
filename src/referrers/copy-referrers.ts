/**
 * `referrers: true`: what refers to the copied manifests (signatures, SBOMs, attestations) comes
 * along. For the root and, in an index, each child: the referrers API or the tag schema index at
 * the source, and cosign's older `sha256-<hex>.sig` / `.att` / `.sbom` tags. Each referrer is
 * copied with its own graph (and its own referrers, a few levels deep), then recorded at the
 * destination the way the destination supports.
 */
import { copyGraph, type CopyGraphOptions } from '../copy/copy-graph.js'
import { fetchRoot, loadGraph, type ArtifactGraph } from '../copy/graph.js'
import { isReadable, type Source, type Target } from '../storage.js'
import { listReferrers, recordReferrer, referrersTag } from './referrers.js'

/** Referrers of referrers are followed this deep: a signature of an SBOM of an image. */
const MAX_DEPTH = 3
const COSIGN_SUFFIXES = ['.sig', '.att', '.sbom'] as const

export interface CopiedReferrer {
  subject: string
  digest: string
  /** `artifactType`, or the cosign tag it was found under. */
  kind: string
}

export async function copyReferrers(
  source: Source,
  graph: ArtifactGraph,
  targets: readonly Target[],
  options: CopyGraphOptions,
  depth = 0
): Promise<CopiedReferrer[]> {
  const copied: CopiedReferrer[] = []
  if (depth >= MAX_DEPTH) return copied
  for (const subject of graph.nodes.keys()) {
    const { referrers } = await listReferrers(source, subject)
    for (const referrer of referrers) {
      const referrerGraph = await copyOne(source, referrer.digest, targets, options)
      for (const target of targets) if (isReadable(target)) await recordReferrer(target, subject, referrer)
      copied.push({ subject, digest: referrer.digest, kind: referrer.artifactType ?? referrer.mediaType })
      copied.push(...(await copyReferrers(source, referrerGraph, targets, options, depth + 1)))
    }
    for (const suffix of COSIGN_SUFFIXES) {
      const tag = `${referrersTag(subject)}${suffix}`
      const root = await fetchRoot(source, tag).catch(() => undefined)
      if (!root) continue
      await copyOne(source, root.descriptor.digest, targets, options)
      for (const target of targets) await target.pushManifest(root.descriptor, root.bytes, tag)
      copied.push({ subject, digest: root.descriptor.digest, kind: `cosign ${suffix.slice(1)} tag` })
    }
  }
  return copied
}

async function copyOne(source: Source, digest: string, targets: readonly Target[], options: CopyGraphOptions): Promise<ArtifactGraph> {
  const graph = await loadGraph(source, await fetchRoot(source, digest))
  for (const target of targets) await copyGraph(graph, source, target, options)
  return graph
}
