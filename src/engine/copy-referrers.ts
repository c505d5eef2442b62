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
import { ContentError } from '../errors.js'
import type { Descriptor } from '../manifest.js'
import { showReference } from '../reference.js'
import { ReferrersLookupError, referrersTag } from '../referrers.js'
import { isManifestResolver, isReadable, type Source, type Target } from '../storage.js'
import { copyGraph, type CopyGraphOptions } from './copy-graph.js'
import { fetchRoot, loadGraph, type ArtifactGraph, type GraphNode } from './graph.js'
import type { LeftBehind } from './plan.js'
import { holdsReferrers, ifTagged, listReferrers, recordReferrers, type FoundReferrers } from './referrers-store.js'
import { overwriteRefused } from './tag-overwrite.js'
import { param } from '../words.js'

/** Referrers of referrers are followed this deep: a signature of an SBOM of an image. */
const MAX_DEPTH = 3
/** Referrers copied at most for one artifact, at every depth together. */
const MAX_REFERRERS = 1000
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
          `(${param('annotations')}, ${param('platforms')} or ${param('ociMediaTypes')}), and a referrer names the exact digest it refers to; attach them to ${to} again where they still apply`
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
  depth: number,
  budget = { counted: new Set<string>() }
): Promise<CopiedReferrer[]> {
  const copied: CopiedReferrer[] = []
  if (depth >= MAX_DEPTH) return copied
  for (const subject of subjects) {
    const found = await listReferrers(source, subject)
    if (found.skipped.length > 0) options.logger.warning(skippedWarning(source, subject, found))
    // What moved, to any target: its own referrers are looked for below it. One already at every
    // target is not looked into again (a re-run costs a lookup per tag, not per referrer).
    const moved = new Map<string, Descriptor>()
    if (found.referrers.length > 0) {
      for (const target of targets) {
        for (const referrer of await referrersInto(source, subject, found.referrers, target, options, budget))
          moved.set(referrer.digest, referrer)
      }
    }
    for (const referrer of moved.values()) copied.push({ subject, digest: referrer.digest, kind: kindOf(referrer) })
    for (const more of await copyReferrersOf(source, moved.keys(), targets, options, depth + 1, budget)) copied.push(more)
    // cosign's own tags name images it signed, not its signatures: asked of the copied manifests only.
    if (depth > 0) continue
    for (const suffix of COSIGN_SUFFIXES) {
      for (const digest of new Set(await cosignTagInto(source, subject, `${referrersTag(subject)}${suffix}`, targets, options))) {
        copied.push({ subject, digest, kind: `cosign ${suffix.slice(1)} tag` })
      }
    }
  }
  return copied
}

/**
 * The referrers of `subject` a target lacks, copied (their graphs) and recorded there: what the
 * target lists already (its API, or its tag schema index) is neither read nor written again, so
 * a re-run costs one lookup per subject and target. Returns the referrers that moved.
 */
async function referrersInto(
  source: Source,
  subject: string,
  referrers: readonly Descriptor[],
  target: Target,
  options: CopyGraphOptions,
  budget: { counted: Set<string> }
): Promise<Descriptor[]> {
  const known = isReadable(target) ? await listReferrers(target, subject) : undefined
  const listed = new Set(known?.referrers.map((d) => d.digest))
  // Each digest once, however often an index names it.
  const missing = [...new Map(referrers.filter((r) => !listed.has(r.digest)).map((r) => [r.digest, r])).values()]
  for (const referrer of missing) {
    // Counted once per referrer, however many targets it goes to.
    budget.counted.add(referrer.digest)
    if (budget.counted.size > MAX_REFERRERS)
      throw new ContentError(source.name, `has more than ${MAX_REFERRERS} referrers below what is copied; not copied further`)
    await copyOne(source, referrer.digest, [target], options)
  }
  if (missing.length > 0 && isReadable(target)) await recordReferrers(target, subject, missing, known)
  return missing
}

/**
 * cosign's older tags (`sha256-<hex>.sig`, `.att`, `.sbom`): what `tag` holds at the source is
 * copied and tagged at each target whose tag holds something else (cosign rewrites these tags as
 * signatures are added). Asked by HEAD where the store can, so a re-run reads no manifest.
 */
async function cosignTagInto(
  source: Source,
  subject: string,
  tag: string,
  targets: readonly Target[],
  options: CopyGraphOptions
): Promise<string[]> {
  const digest = await taggedDigest(source, subject, tag)
  if (digest === undefined) return []
  const moved: string[] = []
  let root: GraphNode | undefined
  for (const target of targets) {
    const held = isManifestResolver(target) ? (await target.resolveManifest(tag))?.digest : undefined
    if (held === digest) continue
    root ??= await fetchRoot(source, digest)
    await copyOne(source, digest, [target], options)
    try {
      await target.pushManifest(root.descriptor, root.bytes, tag)
    } catch (error) {
      throw overwriteRefused(error, showReference(target.name, tag), held, digest) ?? error
    }
    moved.push(digest)
  }
  return moved
}

/** What cosign tagged `tag` for `subject` at the source, or undefined when there is no such tag. */
async function taggedDigest(source: Source, subject: string, tag: string): Promise<string | undefined> {
  try {
    if (isManifestResolver(source)) return (await source.resolveManifest(tag))?.digest
    return (await ifTagged(source, tag, () => fetchRoot(source, tag)))?.descriptor.digest
  } catch (error) {
    throw new ReferrersLookupError(source.name, subject, `the cosign tag ${tag}`, error as Error)
  }
}

function kindOf(referrer: Descriptor): string {
  return referrer.artifactType ?? referrer.mediaType
}

/** One warning per index for the descriptors a signer wrote that cannot be copied. */
function skippedWarning(source: Source, subject: string, found: FoundReferrers): string {
  const shownProblems = found.skipped.slice(0, 3).join('; ')
  const more = found.skipped.length > 3 ? `; and ${found.skipped.length - 3} more` : ''
  return (
    `referrers: ${found.skipped.length} of the descriptors of ${source.name}@${subject} in ${found.where} ` +
    `cannot be copied and are skipped (${shownProblems}${more})`
  )
}

/** Referrers of `subject` at the source: listed (API or tag schema) and cosign-tagged. */
async function countReferrers(source: Source, subject: string): Promise<number> {
  let count = (await listReferrers(source, subject)).referrers.length
  for (const suffix of COSIGN_SUFFIXES) if (await taggedDigest(source, subject, `${referrersTag(subject)}${suffix}`)) count++
  return count
}

async function copyOne(source: Source, digest: string, targets: readonly Target[], options: CopyGraphOptions): Promise<ArtifactGraph> {
  const graph = await loadGraph(source, await fetchRoot(source, digest))
  for (const target of targets) await copyGraph(graph, source, target, options)
  return graph
}
