/**
 * The `platforms` input applied to a graph: one platform selects that image manifest as it is
 * (its own bytes and digest); several make a new index of the source's media type holding only
 * those descriptors, in the source's order, with every other field of the source index kept.
 * Attestation manifests of a selected image come along. Platforms match as containerd
 * normalises them (`linux/arm64/v8` is `linux/arm64`).
 */
import { sha256 } from '../digest.js'
import { InputError } from '../errors.js'
import { childManifests, parseManifest, type Descriptor, type Platform } from '../manifest.js'
import { formatPlatform, isDefaultVariant, matchesPlatform, normalizePlatform, type PlatformSpec } from '../platform.js'
import { subgraph, type ArtifactGraph, type GraphNode } from './graph.js'

/** Docker/BuildKit mark attestation manifests in an index with these descriptor annotations. */
export const REFERENCE_TYPE = 'vnd.docker.reference.type'
export const REFERENCE_DIGEST = 'vnd.docker.reference.digest'
export const ATTESTATION = 'attestation-manifest'

export function isAttestation(descriptor: Descriptor): boolean {
  return descriptor.annotations?.[REFERENCE_TYPE] === ATTESTATION
}

/**
 * Keeps only the platforms asked for. `imagePlatform` reads a single image's platform from its
 * config (asked only when the source is not an index).
 */
export async function selectPlatforms(
  graph: ArtifactGraph,
  specs: readonly PlatformSpec[],
  imagePlatform: (node: GraphNode) => Promise<Platform | undefined>
): Promise<ArtifactGraph> {
  const { root } = graph
  if (root.manifest.kind === 'image') {
    const platform = await imagePlatform(root)
    if (!specs.some((spec) => matchesPlatform(spec, platform))) {
      throw new InputError(
        'platforms',
        `the source is a single image for ${formatPlatform(platform)}, not ${specs.map(formatPlatform).join(', ')}`
      )
    }
    return graph
  }
  const choice = choosePlatforms(root, specs)
  if (choice.kind === 'same') return graph
  if (choice.kind === 'child') return subgraph(graph, graph.nodes.get(choice.digest) as GraphNode)
  return subgraph(graph, choice.root)
}

/** What `platforms` makes of an index, decided from its own bytes: itself, one child, or a new index. */
export type PlatformChoice = { kind: 'same' } | { kind: 'child'; digest: string } | { kind: 'index'; root: GraphNode }

/**
 * The platforms' choice from an index alone, before (or without) reading its children: the mirror
 * learns from it what a copy would push at the cost of one manifest.
 */
export function choosePlatforms(root: GraphNode, specs: readonly PlatformSpec[]): PlatformChoice {
  const children = childManifests(root.manifest)
  const images = children.filter((d) => !isAttestation(d))
  const digests = new Set(specs.flatMap((spec) => pick(images, spec).map((d) => d.digest)))
  if (digests.size === 1) return { kind: 'child', digest: [...digests][0] }
  // The source's descriptors in the source's order, so the order of `platforms` does not change
  // the digest; attestations of kept images stay beside them.
  const kept = children.map((d) => digests.has(d.digest) || (isAttestation(d) && digests.has(d.annotations?.[REFERENCE_DIGEST] ?? '')))
  // Every platform of the index asked for: the index as it is, bytes and all.
  if (kept.every(Boolean)) return { kind: 'same' }
  const json = JSON.parse(root.bytes.toString('utf8')) as { manifests: unknown[] }
  json.manifests = json.manifests.filter((_, i) => kept[i])
  const bytes = Buffer.from(JSON.stringify(json))
  const { mediaType } = root.descriptor
  return {
    kind: 'index',
    root: {
      descriptor: { mediaType, digest: sha256(bytes), size: bytes.length },
      bytes,
      manifest: parseManifest(bytes, mediaType, 'the selected platforms')
    }
  }
}

/**
 * The image descriptors for `spec`, or an error listing what the index has: one, or several that
 * differ only in `os.version` (Windows images for several builds: each host pulls its own).
 */
function pick(images: readonly Descriptor[], spec: PlatformSpec): Descriptor[] {
  const matches = images.filter((d) => matchesPlatform(spec, d.platform))
  const available = images.map((d) => formatPlatform(d.platform)).join(', ')
  if (matches.length === 0) throw new InputError('platforms', `${formatPlatform(spec)} is not in the source; it has ${available}`)
  if (samePlatform(matches)) return matches
  // Several variants and none asked for: the architecture's default (`arm` is `arm/v7`), as containerd picks.
  const preferred = spec.variant === undefined ? matches.filter((d) => isDefaultVariant(d.platform)) : []
  if (preferred.length > 0 && samePlatform(preferred)) return preferred
  throw new InputError(
    'platforms',
    `${formatPlatform(spec)} matches ${matches.map((d) => formatPlatform(d.platform)).join(' and ')}; add the variant`
  )
}

/** Whether the descriptors name one platform (os, architecture, variant), whatever their `os.version`. */
function samePlatform(descriptors: readonly Descriptor[]): boolean {
  const keys = new Set(descriptors.map((d) => JSON.stringify(normalizePlatform(d.platform ?? {}))))
  return keys.size === 1
}
