/**
 * The `platforms` input applied to a graph: one platform selects that image manifest as it is
 * (its own bytes and digest); several make a new OCI index holding only those descriptors, with
 * the source index's annotations. Attestation manifests of a selected image come along.
 */
import { sha256 } from '../digest.js'
import { InputError } from '../errors.js'
import { childManifests, parseManifest, type Descriptor, type Platform } from '../manifest.js'
import { OCI_INDEX } from '../media-types.js'
import { formatPlatform, matchesPlatform, type PlatformSpec } from '../platform.js'
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
  const images = childManifests(root.manifest).filter((d) => !isAttestation(d))
  const selected = specs.map((spec) => pick(images, spec))
  const unique = [...new Map(selected.map((d) => [d.digest, d])).values()]
  if (unique.length === 1) return subgraph(graph, graph.nodes.get(unique[0].digest) as GraphNode)

  const digests = new Set(unique.map((d) => d.digest))
  const attestations = childManifests(root.manifest).filter((d) => isAttestation(d) && digests.has(d.annotations?.[REFERENCE_DIGEST] ?? ''))
  const json = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [...unique, ...attestations],
    ...(root.manifest.annotations ? { annotations: root.manifest.annotations } : {})
  }
  const bytes = Buffer.from(JSON.stringify(json))
  const newRoot: GraphNode = {
    descriptor: { mediaType: OCI_INDEX, digest: sha256(bytes), size: bytes.length },
    bytes,
    manifest: parseManifest(bytes, OCI_INDEX, 'the selected platforms')
  }
  return subgraph(graph, newRoot)
}

/** The one image descriptor for `spec`, or an error listing what the index has. */
function pick(images: readonly Descriptor[], spec: PlatformSpec): Descriptor {
  const matches = images.filter((d) => matchesPlatform(spec, d.platform))
  const available = images.map((d) => formatPlatform(d.platform)).join(', ')
  if (matches.length === 0) throw new InputError('platforms', `${formatPlatform(spec)} is not in the source; it has ${available}`)
  if (matches.length > 1) {
    throw new InputError(
      'platforms',
      `${formatPlatform(spec)} matches ${matches.map((d) => formatPlatform(d.platform)).join(' and ')}; add the variant`
    )
  }
  return matches[0]
}
