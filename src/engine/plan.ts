/**
 * The plan of a copy (DESIGN §4), made before anything is written: the source resolved and its
 * graph loaded, platforms and annotations applied, destinations and their stores picked, the size
 * limit checked, and what each destination already holds found out. Dry runs, the mirror's "up to
 * date" and the executor all read it.
 */
import type { AnnotationRule } from '../annotations.js'
import { endpointDigest, endpointTag, formatEndpoint, storeKey, type Endpoint } from '../endpoint.js'
import { SizeLimitError } from '../errors.js'
import { formatBytes, UNLIMITED } from '../size.js'
import { param } from '../words.js'
import { isManifestResolver, isWarmable, sharesBlobs, type Opener, type Source, type Target } from '../storage.js'
import { rewriteGraph, type RewrittenManifest } from './annotate.js'
import { askEarly, missingManifests, type EarlyAnswers } from './missing-manifests.js'
import { planDestinations, type Destination } from './destinations.js'
import { artifactSize, configPlatform, distributableBlobs, fetchRoot, loadGraph, type ArtifactGraph, type GraphNode } from './graph.js'
import { isAttestation, REFERENCE_DIGEST, selectPlatforms } from './platform-filter.js'
import { childManifests } from '../manifest.js'
import type { CopyRequest, Reporter } from './request.js'

export interface PlannedTarget {
  /** The store's key (endpoint.ts `storeKey`): destinations name their target by it. */
  key: string
  target: Target
  /** Holds every blob of the source already (its own repository, the same layout): manifests only. */
  sameStorage: boolean
  /** Digests of the graph's manifests the target lacks; empty when it has them all. */
  missing: ReadonlySet<string>
}

/** A source manifest that is not pushed as it is: its referrers name it, and cannot follow. */
export interface LeftBehind {
  from: string
  to: string
}

export interface CopyPlan {
  request: CopyRequest
  source: Source
  /** The source's root as fetched. */
  original: GraphNode
  /** What is pushed: every manifest below {@link CopyPlan.root}. */
  graph: ArtifactGraph
  root: GraphNode
  /** Manifests given new bytes: old → new digest, children first. */
  rewritten: RewrittenManifest[]
  /** Manifests of the graph that exist at the source as they are pushed: whose referrers can come along. */
  kept: string[]
  leftBehind: LeftBehind[]
  destinations: Destination[]
  targets: PlannedTarget[]
  /**
   * What each destination tag holds now (by `tagKey`), asked by HEAD while the source is read:
   * a tag already at the digest is not written again (registries with immutable tags refuse even
   * that), and one holding another digest is named if the registry refuses to move it.
   */
  held: ReadonlyMap<string, Promise<string | undefined>>
  /** Bytes of the blobs below what the targets lack: what the copy uploads at most. */
  bytes: number
}

export async function planCopy(opener: Opener<Endpoint>, request: CopyRequest, reporter: Reporter): Promise<CopyPlan> {
  // The destinations' registries are pinged, and their tags asked, while the source is read:
  // those round trips overlap it.
  warm(opener, request.destinations)
  const held = askTags(opener, planDestinations(request.source, request.destinations), request.heldTags)
  const source = await opener.source(request.source)
  const original = await fetchRoot(source, endpointDigest(request.source) ?? endpointTag(request.source) ?? '')
  const name = formatEndpoint(request.source)
  reporter.event({ type: 'artifact-resolved', source: name, digest: original.descriptor.digest, mediaType: original.descriptor.mediaType })

  const transformed = await transform(source, original, request, reporter)
  const root = transformed?.graph.root ?? original
  // What is pushed differs from the source's manifest: even the source's own tag must move.
  const changed = root !== original
  const destinations = planDestinations(request.source, request.destinations).map((d) => (changed ? { ...d, unchanged: false } : d))
  const stores = new Map<string, Target>()
  for (const dest of destinations) {
    const key = storeKey(dest.endpoint)
    if (!stores.has(key)) stores.set(key, await opener.target(dest.endpoint))
  }
  // Asked of each pair: a target that holds the source's blobs gets manifests only.
  const crossStorage = [...stores.values()].some((target) => !sharesBlobs(target, source))
  // An index as it is: what each target has of it is asked while its children are fetched (not
  // when the size limit forbids any cross-repository push: such a copy asks nothing of a target).
  const early = new Map<string, EarlyAnswers | undefined>()
  const refused = request.maxArtifactSize === 0 && sizeLimitApplies(request.source, destinations)
  if (!transformed && crossStorage && !refused)
    for (const [key, target] of stores) if (!sharesBlobs(target, source)) early.set(key, askEarly(original, target))
  const graph = transformed?.graph ?? (crossStorage ? await loadGraph(source, original) : rootOnly(original))
  if (crossStorage && sizeLimitApplies(request.source, destinations)) checkSizeLimit(artifactSize(graph), request.maxArtifactSize)

  const targets: PlannedTarget[] = []
  for (const [key, target] of stores) {
    const sameStorage = sharesBlobs(target, source)
    // The source's own storage lacks only what was rewritten; without a change it lacks nothing.
    const missing = sameStorage && !changed ? new Set<string>() : await missingManifests(graph, target, early.get(key))
    targets.push({ key, target, sameStorage, missing })
  }
  const fromSource = new Set(transformed?.sourceGraph.nodes.keys() ?? graph.nodes.keys())
  const kept = [...graph.nodes.keys()].filter((digest) => fromSource.has(digest))
  const rewritten = transformed?.rewritten ?? []
  // Source manifests not pushed as they are: their referrers name digests nobody will push.
  const leftBehind = rewritten.filter(({ from }) => fromSource.has(from)).map(({ from, to }) => ({ from, to }))
  if (changed && !leftBehind.some((l) => l.from === original.descriptor.digest))
    leftBehind.push({ from: original.descriptor.digest, to: root.descriptor.digest })
  return {
    request,
    source,
    original,
    graph,
    root,
    rewritten,
    kept,
    leftBehind,
    destinations,
    targets,
    held,
    bytes: bytesToMove(graph, targets)
  }
}

/** Starts each destination store's first round trip now; a failure there shows on its first real request. */
function warm(opener: Opener<Endpoint>, destinations: readonly Endpoint[]): void {
  for (const endpoint of destinations) {
    void opener
      .target(endpoint)
      .then((target) => (isWarmable(target) ? target.warm() : undefined))
      .catch(() => {})
  }
}

/** The key of a destination's tag in {@link CopyPlan.held}. */
export function tagKey(destination: Destination): string {
  return `${storeKey(destination.endpoint)}:${destination.tag ?? ''}`
}

/**
 * What each tagged destination's tag holds, by one HEAD each (registries; a layout is asked
 * nothing: it has no immutable tags and writing it costs no request). A failed question is an
 * unknown answer: the tag is then written as before, and a real problem shows on that write.
 */
function askTags(
  opener: Opener<Endpoint>,
  destinations: readonly Destination[],
  known: ReadonlyMap<string, string | undefined> = new Map()
): Map<string, Promise<string | undefined>> {
  const held = new Map<string, Promise<string | undefined>>()
  for (const destination of destinations) {
    const tag = destination.tag
    if (tag === undefined || destination.unchanged || destination.endpoint.kind !== 'registry') continue
    const name = formatEndpoint(destination.endpoint)
    if (known.has(name)) {
      held.set(tagKey(destination), Promise.resolve(known.get(name)))
      continue
    }
    const answer = opener
      .target(destination.endpoint)
      .then(async (target) => (isManifestResolver(target) ? (await target.resolveManifest(tag))?.digest : undefined))
      .catch(() => undefined)
    held.set(tagKey(destination), answer)
  }
  return held
}

/** A graph of the root alone: a retag in place needs nothing below it. */
function rootOnly(root: GraphNode): ArtifactGraph {
  return { root, nodes: new Map([[root.descriptor.digest, root]]) }
}

function bytesToMove(graph: ArtifactGraph, targets: readonly PlannedTarget[]): number {
  let bytes = 0
  for (const { sameStorage, missing } of targets) {
    if (sameStorage) continue
    const nodes = [...missing].map((digest) => graph.nodes.get(digest) as GraphNode)
    bytes += distributableBlobs(nodes).reduce((sum, blob) => sum + blob.size, 0)
  }
  return bytes
}

interface Transformed {
  /** The source's graph as loaded, before any change. */
  sourceGraph: ArtifactGraph
  graph: ArtifactGraph
  rewritten: RewrittenManifest[]
}

/** Platforms, annotations and media types applied to the whole graph, when any is asked for. */
async function transform(source: Source, root: GraphNode, request: CopyRequest, reporter: Reporter): Promise<Transformed | undefined> {
  const rules: readonly AnnotationRule[] = request.annotations ?? []
  if (rules.length === 0 && !request.platforms?.length && !request.ociMediaTypes) return undefined
  const imagePlatform = (node: GraphNode) => configPlatform(source, node)
  const sourceGraph = await loadGraph(source, root)
  let graph = sourceGraph
  if (request.platforms?.length) {
    graph = await selectPlatforms(graph, request.platforms, imagePlatform)
    attestationsLeft(sourceGraph, graph).forEach((notice) => reporter.notice(notice))
  }
  const result = await rewriteGraph(graph, { rules, ociMediaTypes: request.ociMediaTypes ?? false, imagePlatform })
  for (const notice of result.notices) reporter.notice(notice)
  const rewritten = withSelection(root, graph.root, result.rewritten)
  for (const { from, to } of rewritten) reporter.event({ type: 'manifest-rewritten', from, to })
  return { sourceGraph, graph: result.graph, rewritten }
}

/**
 * The rewrites with what `platforms` did to the root: a new index of the kept platforms is the
 * source index rewritten (and what annotations then did to it counts from the source's digest).
 */
function withSelection(original: GraphNode, selected: GraphNode, rewritten: readonly RewrittenManifest[]): RewrittenManifest[] {
  if (selected === original || selected.manifest.kind !== 'index') return [...rewritten]
  const from = original.descriptor.digest
  const after = rewritten.find((r) => r.from === selected.descriptor.digest)
  if (after) return rewritten.map((r) => (r === after ? { ...r, from } : r))
  return [...rewritten, { from, to: selected.descriptor.digest, mediaType: selected.descriptor.mediaType }]
}

/** One platform out of an index: the BuildKit attestations of that image live in the index, and stay there. */
function attestationsLeft(source: ArtifactGraph, selected: ArtifactGraph): string[] {
  if (source.root.manifest.kind !== 'index' || selected.root.manifest.kind !== 'image') return []
  const digest = selected.root.descriptor.digest
  const count = childManifests(source.root.manifest).filter((d) => isAttestation(d) && d.annotations?.[REFERENCE_DIGEST] === digest).length
  if (count === 0) return []
  return [
    `${param('platforms')}: ${digest} is copied alone, without the index holding its ${count} attestation manifest${count === 1 ? '' : 's'} ` +
      `(provenance, SBOM); select two ${param('platforms')} or more to keep them`
  ]
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
    throw new SizeLimitError(
      size,
      limit,
      `cross-repository push is disabled (${param('maxArtifactSize', '0')}); give ${param('maxArtifactSize')} a size to allow it, or -1 for no limit`
    )
  }
  if (size > limit) {
    throw new SizeLimitError(
      size,
      limit,
      `${formatBytes(size)} exceeds the limit of ${formatBytes(limit)}; raise ${param('maxArtifactSize')}`
    )
  }
}
