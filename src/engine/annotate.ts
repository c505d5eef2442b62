/**
 * Annotations (DESIGN §4) and OCI media types applied to a graph. A changed manifest is new
 * bytes with a new digest and size; every index above it gets its descriptor rewritten (and
 * attestation manifests' `vnd.docker.reference.digest`), up to the root. Blobs never change.
 * A manifest is re-serialised (compact JSON) only when its JSON really changes: a rule adds or
 * replaces a value, a media type is converted, or a child descriptor changed. Every other
 * manifest keeps its original bytes (DESIGN §4 "byte exact": BuildKit's indentation, the trailing
 * newline of Go's encoder). Key order follows the original JSON with new keys appended in input
 * order, so the same inputs give the same digests every run.
 */
import { sha256 } from '../digest.js'
import type { AnnotationRule } from '../annotations.js'
import { childManifests, parseManifest, type Platform } from '../manifest.js'
import { manifestKind } from '../media-types.js'
import { matchesPlatform } from '../platform.js'
import { manifestsChildrenFirst, subgraph, type ArtifactGraph, type GraphNode } from './graph.js'
import { convertManifestToOci, isDockerManifestType } from './media-conversion.js'
import { isAttestation, REFERENCE_DIGEST } from './platform-filter.js'

export interface RewriteOptions {
  rules: readonly AnnotationRule[]
  ociMediaTypes: boolean
  /** A single image's platform from its config; asked only for a platform-scoped rule on one. */
  imagePlatform: (node: GraphNode) => Promise<Platform | undefined>
}

export interface RewrittenManifest {
  from: string
  to: string
  mediaType: string
}

export interface RewriteResult {
  graph: ArtifactGraph
  /** Old → new digest of every manifest that changed, children first. */
  rewritten: RewrittenManifest[]
  /** Rules that had nothing to apply to, said in a sentence each. */
  notices: string[]
}

type Json = Record<string, unknown>
type JsonDescriptor = Json & { mediaType: string; digest: string; size: number; annotations?: Record<string, string>; platform?: Platform }

export async function rewriteGraph(graph: ArtifactGraph, options: RewriteOptions): Promise<RewriteResult> {
  const { rules } = options
  const platforms = await platformsOf(graph, options)
  const replaced = new Map<string, GraphNode>()
  const rewritten: RewrittenManifest[] = []
  const used = new Set<AnnotationRule>()
  const attestations = new Set<string>()
  for (const node of graph.nodes.values()) for (const d of childManifests(node.manifest)) if (isAttestation(d)) attestations.add(d.digest)

  for (const node of manifestsChildrenFirst(graph)) {
    const json = parseJson(node.bytes)
    const isRoot = node === graph.root
    if (options.ociMediaTypes && isDockerManifestType(node.descriptor.mediaType)) convertManifestToOci(json)
    if (node.manifest.kind === 'image') {
      if (!attestations.has(node.descriptor.digest)) {
        const platform = platforms.get(node.descriptor.digest)
        annotate(json, applicable(rules, 'manifest', platform, used))
      }
    } else {
      for (const d of json.manifests as JsonDescriptor[]) {
        const child = replaced.get(d.digest)
        const referenced = d.annotations?.[REFERENCE_DIGEST]
        if (child) Object.assign(d, { mediaType: child.descriptor.mediaType, digest: child.descriptor.digest, size: child.descriptor.size })
        if (referenced && replaced.has(referenced))
          d.annotations = { ...d.annotations, [REFERENCE_DIGEST]: replaced.get(referenced)?.descriptor.digest ?? referenced }
        if (isAttestation(d)) continue
        const scope = manifestKind(d.mediaType) === 'index' ? 'index-descriptor' : 'manifest-descriptor'
        annotate(d, applicable(rules, scope, d.platform, used))
      }
      if (isRoot) annotate(json, applicable(rules, 'index', undefined, used))
    }
    // Nothing applied: the original bytes go out untouched, indentation and trailing newline included.
    if (sameJson(json, parseJson(node.bytes))) continue
    const bytes = Buffer.from(JSON.stringify(json))
    const mediaType = typeof json.mediaType === 'string' ? json.mediaType : node.descriptor.mediaType
    const manifest = parseManifest(bytes, mediaType, `${node.descriptor.digest} rewritten`)
    const next: GraphNode = { descriptor: { mediaType: manifest.mediaType, digest: sha256(bytes), size: bytes.length }, bytes, manifest }
    replaced.set(node.descriptor.digest, next)
    rewritten.push({ from: node.descriptor.digest, to: next.descriptor.digest, mediaType: next.descriptor.mediaType })
  }

  const root = replaced.get(graph.root.descriptor.digest) ?? graph.root
  const extra = new Map([...replaced.values()].map((n) => [n.descriptor.digest, n]))
  return { graph: subgraph(graph, root, extra), rewritten, notices: notices(rules, used, graph) }
}

function parseJson(bytes: Buffer): Json {
  return JSON.parse(bytes.toString('utf8')) as Json
}

/** Two parses of JSON whose keys keep their order: equal values serialise alike. */
function sameJson(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** The annotations of `rules` in `scope` that apply to something of `platform`; marks them used. */
function applicable(
  rules: readonly AnnotationRule[],
  scope: AnnotationRule['scope'],
  platform: Platform | undefined,
  used: Set<AnnotationRule>
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const rule of rules) {
    if (rule.scope !== scope) continue
    if (rule.platforms && !rule.platforms.some((spec) => matchesPlatform(spec, platform))) continue
    out[rule.key] = rule.value
    used.add(rule)
  }
  return out
}

/** Adds or replaces keys, keeping the existing ones where they stand. */
function annotate(target: Json, annotations: Record<string, string>): void {
  if (Object.keys(annotations).length === 0) return
  target.annotations = { ...(target.annotations as Record<string, string> | undefined), ...annotations }
}

/** The platform of each image manifest: from the index descriptor that points at it, or its config. */
async function platformsOf(graph: ArtifactGraph, options: RewriteOptions): Promise<Map<string, Platform | undefined>> {
  const platforms = new Map<string, Platform | undefined>()
  for (const node of graph.nodes.values())
    for (const d of childManifests(node.manifest)) if (d.platform) platforms.set(d.digest, d.platform)
  const scoped = options.rules.some((r) => r.scope === 'manifest' && r.platforms)
  if (graph.root.manifest.kind === 'image' && scoped) platforms.set(graph.root.descriptor.digest, await options.imagePlatform(graph.root))
  return platforms
}

/** Sentences for rules that could not apply to this kind of artifact. */
function notices(rules: readonly AnnotationRule[], used: ReadonlySet<AnnotationRule>, graph: ArtifactGraph): string[] {
  const single = graph.root.manifest.kind === 'image'
  const out: string[] = []
  for (const rule of rules) {
    if (used.has(rule)) continue
    if (rule.scope === 'index' && single) out.push(`annotation index:${rule.key} ignored: the source is a single manifest, not an index`)
    else if (rule.scope === 'manifest-descriptor' && single)
      out.push(`annotation manifest-descriptor:${rule.key} ignored: the source is a single manifest, not an index`)
    else if (rule.scope === 'index-descriptor')
      out.push(`annotation index-descriptor:${rule.key} ignored: no index here is inside another one`)
    else if (rule.platforms) out.push(`annotation ${rule.scope}[…]:${rule.key} ignored: no manifest of those platforms`)
  }
  return out
}
