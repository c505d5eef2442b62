/**
 * The graph of an artifact: its root manifest and every manifest below it, fetched and verified
 * before a single blob moves, so the size limit and the copy plan come from manifests alone.
 */
import { forEachLimit } from '../concurrency.js'
import { ContentError } from '../errors.js'
import { digestWithAlgorithmOf, isDigest, sha256 } from '../digest.js'
import { readCapped } from '../streams.js'
import { blobsOf, childManifests, MAX_MANIFEST_BYTES, parseManifest, type Descriptor, type Manifest, type Platform } from '../manifest.js'
import { baseMediaType, isDistributable, manifestKind } from '../media-types.js'
import { showReference } from '../reference.js'
import type { Source } from '../storage.js'

export interface GraphNode {
  /** The manifest's own descriptor: its media type, digest and the size of its bytes. */
  descriptor: Descriptor
  bytes: Buffer
  manifest: Manifest
}

export interface ArtifactGraph {
  root: GraphNode
  /** Every manifest of the graph, the root included, by digest. */
  nodes: Map<string, GraphNode>
}

/** Nested indexes deeper than this are refused: no real artifact comes close. */
const MAX_DEPTH = 8
/** Manifests in one graph, bounding the walk whatever the source serves. */
export const MAX_MANIFESTS = 10_000
/** Child manifests fetched at once: the connection pool's width, whatever an index names. */
const FETCH_AT_ONCE = 8

/**
 * Fetches the root manifest by tag or digest and checks its bytes against the digest asked for and
 * the digest the source claims.
 */
export async function fetchRoot(source: Source, reference: string): Promise<GraphNode> {
  const { bytes, contentType, digest, where } = await fetchVerified(source, reference)
  const manifest = parseManifest(bytes, contentType, where)
  return { descriptor: { mediaType: manifest.mediaType, digest, size: bytes.length }, bytes, manifest }
}

/**
 * A manifest's bytes by tag or digest, not parsed: by tag, the digest is the bytes' own; by
 * digest, the bytes must have it. Either way the store's claim (`Docker-Content-Digest`) must
 * agree: a source that lies about it is refused (hashed again only when it names another value
 * or algorithm).
 */
export async function fetchVerified(
  source: Source,
  reference: string
): Promise<{ bytes: Buffer; contentType: string | undefined; digest: string; where: string }> {
  const where = showReference(source.name, reference)
  const fetched = await source.fetchManifest(reference)
  const digest = isDigest(reference) ? reference : sha256(fetched.bytes)
  if (isDigest(reference)) checkDigest(fetched.bytes, digest, where)
  const claimed = fetched.claimedDigest
  if (claimed && isDigest(claimed) && claimed !== digest) checkDigest(fetched.bytes, claimed, where)
  return { bytes: fetched.bytes, contentType: fetched.contentType, digest, where }
}

/**
 * Fetches every manifest below `root` (nested indexes too), each verified against its descriptor.
 * The source's word does not set the work: an index's descriptors are counted against
 * {@link MAX_MANIFESTS} before anything is fetched, each distinct digest is fetched once however
 * often it is named, and at most {@link FETCH_AT_ONCE} at a time.
 */
export async function loadGraph(source: Source, root: GraphNode): Promise<ArtifactGraph> {
  const nodes = new Map<string, GraphNode>([[root.descriptor.digest, root]])
  const visit = async (node: GraphNode, depth: number): Promise<void> => {
    const where = showReference(source.name, node.descriptor.digest)
    const named = childManifests(node.manifest)
    if (named.length > MAX_MANIFESTS) {
      throw new ContentError(where, `index names ${named.length} manifests; more than ${MAX_MANIFESTS} in one artifact are not fetched`)
    }
    const children = distinctChildren(named, where).filter((child) => !nodes.has(child.digest))
    if (children.length > 0 && depth >= MAX_DEPTH) {
      throw new ContentError(source.name, `indexes are nested more than ${MAX_DEPTH} deep`)
    }
    if (nodes.size + children.length > MAX_MANIFESTS) {
      throw new ContentError(where, `index brings the artifact to more than ${MAX_MANIFESTS} manifests; not fetched`)
    }
    const fetched: GraphNode[] = new Array<GraphNode>(children.length)
    await forEachLimit(
      children.map((child, i) => ({ child, i })),
      FETCH_AT_ONCE,
      async ({ child, i }) => {
        fetched[i] = await fetchChild(source, child)
      }
    )
    for (const child of fetched) nodes.set(child.descriptor.digest, child)
    for (const child of fetched) await visit(child, depth + 1)
  }
  await visit(root, 0)
  return { root, nodes }
}

/**
 * An index's child descriptors, each digest once (an index may name one manifest many times, as
 * attestations do); two that name one digest with different sizes contradict each other.
 */
function distinctChildren(descriptors: readonly Descriptor[], where: string): Descriptor[] {
  const byDigest = new Map<string, Descriptor>()
  for (const descriptor of descriptors) {
    const earlier = byDigest.get(descriptor.digest)
    if (earlier === undefined) byDigest.set(descriptor.digest, descriptor)
    else if (earlier.size !== descriptor.size) {
      throw new ContentError(where, `index names ${descriptor.digest} with sizes ${earlier.size} and ${descriptor.size}`)
    }
  }
  return [...byDigest.values()]
}

async function fetchChild(source: Source, descriptor: Descriptor): Promise<GraphNode> {
  const where = showReference(source.name, descriptor.digest)
  const fetched = await source.fetchManifest(descriptor.digest)
  if (fetched.bytes.length !== descriptor.size) {
    throw new ContentError(where, `manifest has ${fetched.bytes.length} bytes, its descriptor says ${descriptor.size}`)
  }
  checkDigest(fetched.bytes, descriptor.digest, where)
  // The index's descriptor names the child's media type when neither its JSON nor its store does.
  const served = manifestKind(baseMediaType(fetched.contentType)) ? fetched.contentType : descriptor.mediaType
  const manifest = parseManifest(fetched.bytes, served, where)
  return { descriptor: { mediaType: manifest.mediaType, digest: descriptor.digest, size: descriptor.size }, bytes: fetched.bytes, manifest }
}

function checkDigest(bytes: Buffer, expected: string, where: string, what = 'manifest'): void {
  const actual = digestWithAlgorithmOf(expected, bytes)
  if (actual !== expected) throw new ContentError(where, `${what} has digest ${actual}, expected ${expected}`)
}

/** The platform an image's config names (`os`, `architecture`, `variant`), read and verified. */
export async function configPlatform(source: Source, node: GraphNode): Promise<Platform | undefined> {
  if (node.manifest.kind !== 'image') return undefined
  const config = node.manifest.config
  const where = showReference(source.name, config.digest)
  if (config.size > MAX_MANIFEST_BYTES) throw new ContentError(where, `config is larger than ${MAX_MANIFEST_BYTES} bytes`)
  const bytes = await readCapped(await source.fetchBlob(config), MAX_MANIFEST_BYTES, 'config')
  checkDigest(bytes, config.digest, where, 'config')
  let json: Partial<Platform>
  try {
    json = JSON.parse(bytes.toString('utf8')) as Partial<Platform>
  } catch {
    return undefined
  }
  if (typeof json.os !== 'string' || typeof json.architecture !== 'string') return undefined
  return { os: json.os, architecture: json.architecture, ...(typeof json.variant === 'string' ? { variant: json.variant } : {}) }
}

/**
 * The graph below `root`, with nodes taken from `graph` or from `extra` (manifests made by a
 * rewrite); a child found in neither is an error of the caller.
 */
export function subgraph(graph: ArtifactGraph, root: GraphNode, extra: ReadonlyMap<string, GraphNode> = new Map()): ArtifactGraph {
  const nodes = new Map<string, GraphNode>()
  const visit = (node: GraphNode): void => {
    if (nodes.has(node.descriptor.digest)) return
    nodes.set(node.descriptor.digest, node)
    for (const child of childManifests(node.manifest)) {
      const found = extra.get(child.digest) ?? graph.nodes.get(child.digest)
      if (!found) throw new Error(`internal: manifest ${child.digest} is not in the graph`)
      visit(found)
    }
  }
  visit(root)
  return { root, nodes }
}

/** Manifests with every child before its parent, the root last (the order a registry accepts them). */
export function manifestsChildrenFirst(graph: ArtifactGraph, include: (node: GraphNode) => boolean = () => true): GraphNode[] {
  const ordered: GraphNode[] = []
  const seen = new Set<string>()
  const visit = (node: GraphNode): void => {
    if (seen.has(node.descriptor.digest)) return
    seen.add(node.descriptor.digest)
    for (const child of childManifests(node.manifest)) {
      const childNode = graph.nodes.get(child.digest)
      if (childNode) visit(childNode)
    }
    if (include(node)) ordered.push(node)
  }
  visit(graph.root)
  return ordered
}

/** Blobs the given manifests reference that may be copied, each digest once. */
export function distributableBlobs(nodes: Iterable<GraphNode>): Descriptor[] {
  const blobs = new Map<string, Descriptor>()
  for (const node of nodes) {
    for (const blob of blobsOf(node.manifest)) {
      if (isDistributable(blob.mediaType) && !blobs.has(blob.digest)) blobs.set(blob.digest, blob)
    }
  }
  return [...blobs.values()]
}

/** Bytes a cross-repository copy would move at most: every distributable blob once. */
export function artifactSize(graph: ArtifactGraph): number {
  return distributableBlobs(graph.nodes.values()).reduce((sum, blob) => sum + blob.size, 0)
}
