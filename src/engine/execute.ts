/**
 * Carries out a {@link CopyPlan}: what each target lacks is copied (blobs, then manifests), then
 * referrers, then the new manifests into the source's own storage, and tags last, so no tag ever
 * points at something that is not completely stored.
 */
import { DEFAULT_CONCURRENCY } from '../concurrency.js'
import { storeKey } from '../endpoint.js'
import { isBlobMounter, isManifestResolver, isPinning, isReadable, type Source, type Target } from '../storage.js'
import { overwriteRefused } from './tag-overwrite.js'
import type { BlobLocator } from './blob-locator.js'
import { copyMissing, type CopyGraphOptions } from './copy-graph.js'
import type { AheadLookup } from './placed-ahead.js'
import { copyReferrers, type CopiedReferrer } from './copy-referrers.js'
import { destinationName, type Destination } from './destinations.js'
import { emptyStats, type CopyStats } from './events.js'
import type { GraphNode } from './graph.js'
import { tagKey, type CopyPlan } from './plan.js'
import { PartialCopyError, type CopyResult, type PushedReference, type Reporter } from './request.js'

export interface ExecuteOptions {
  /** Where blobs are across a run of many copies (a mirror). */
  locator?: BlobLocator
  /** Blobs placed before the copy was planned (a docker save's layers). */
  ahead?: AheadLookup
}

export async function executePlan(plan: CopyPlan, reporter: Reporter, execute: ExecuteOptions = {}): Promise<CopyResult> {
  const stats = emptyStats()
  const options = {
    ...graphOptions(plan, reporter, stats),
    ...(execute.locator ? { locator: execute.locator } : {}),
    ...(execute.ahead ? { ahead: execute.ahead } : {})
  }
  const cross = plan.targets.filter((t) => !t.sameStorage)
  const done: Target[] = []
  for (const { target, missing } of cross) {
    const before = { ...stats }
    // A later destination on the registry of an earlier one mounts from it: blobs move once per registry.
    const mountFrom = done.find((earlier) => isBlobMounter(target) && isReadable(earlier) && target.canMountFrom(earlier))
    await copyMissing(plan.graph, missing, plan.source, target, {
      ...options,
      ...(mountFrom && isReadable(mountFrom) ? { mountFrom } : {})
    })
    done.push(target)
    reporter.event({ type: 'target-done', target: target.name, stats: difference(stats, before) })
  }
  // Referrers of the manifests pushed as the source has them, to every destination that is not
  // the source's own storage; those of manifests pushed with new bytes are counted.
  const referrers =
    plan.request.referrers && cross.length > 0
      ? await copyReferrers(
          plan.source,
          plan.kept,
          plan.leftBehind,
          cross.map((t) => t.target),
          options
        )
      : []
  for (const { subject, digest, kind } of referrers) reporter.event({ type: 'referrer-copied', subject, digest, kind })
  // The source's own storage has every blob already: only the new manifests go there.
  for (const { target, missing } of plan.targets.filter((t) => t.sameStorage && t.missing.size > 0))
    await copyMissing(plan.graph, missing, plan.source, target, { ...options, blobsInPlace: true })

  const pushed = await writeTags(plan, reporter)
  const { digest, mediaType, size } = plan.root.descriptor
  return { digest, mediaType, size, pushed, rewritten: plan.rewritten, referrers, stats, seconds: 0 }
}

/**
 * The referrers of `digest` (already at `target`) that `target` lacks, copied alone: what a
 * mirror re-run does for a tag that is up to date, when signatures were added upstream since.
 */
export function copyReferrersOf(
  source: Source,
  target: Target,
  digest: string,
  reporter: Reporter,
  concurrency?: number
): Promise<CopiedReferrer[]> {
  const options: CopyGraphOptions = {
    concurrency: concurrency ?? DEFAULT_CONCURRENCY,
    logger: reporter,
    events: reporter.event,
    stats: emptyStats()
  }
  return copyReferrers(source, [digest], [], [target], options)
}

/** What a dry run answers: the references that would be written, and the bytes that would move at most. */
export function describePlan(plan: CopyPlan): CopyResult {
  const { digest, mediaType, size } = plan.root.descriptor
  const pushed = plan.destinations.map((dest) => pushedReference(dest, plan.root))
  return {
    digest,
    mediaType,
    size,
    pushed,
    rewritten: plan.rewritten,
    referrers: [],
    stats: emptyStats(),
    seconds: 0,
    planned: { bytes: plan.bytes }
  }
}

function graphOptions(plan: CopyPlan, reporter: Reporter, stats: CopyStats): CopyGraphOptions {
  const { concurrency, retry } = plan.request
  return { concurrency: concurrency ?? DEFAULT_CONCURRENCY, logger: reporter, events: reporter.event, stats, ...(retry ? { retry } : {}) }
}

function difference(after: CopyStats, before: CopyStats): CopyStats {
  const out = { ...after }
  for (const key of Object.keys(out) as Array<keyof CopyStats>) out[key] -= before[key]
  return out
}

async function writeTags(plan: CopyPlan, reporter: Reporter): Promise<PushedReference[]> {
  const pushed: PushedReference[] = []
  const targets = new Map(plan.targets.map((t) => [t.key, t.target]))
  for (const dest of plan.destinations) {
    try {
      await writeTag(dest, targets.get(storeKey(dest.endpoint)) as Target, plan, reporter)
    } catch (error) {
      if (pushed.length > 0 && error instanceof Error) throw new PartialCopyError(error, pushed)
      throw error
    }
    pushed.push(pushedReference(dest, plan.root))
  }
  return pushed
}

function pushedReference(dest: Destination, root: GraphNode): PushedReference {
  const { digest, mediaType, size } = root.descriptor
  return { ref: destinationName(dest, digest), ...(dest.tag ? { tag: dest.tag } : {}), digest, mediaType, size }
}

async function writeTag(dest: Destination, target: Target, plan: CopyPlan, reporter: Reporter): Promise<void> {
  const { root } = plan
  const ref = destinationName(dest, root.descriptor.digest)
  const { digest, mediaType, size } = root.descriptor
  if (dest.unchanged) {
    reporter.event({ type: 'tag-written', ref, digest, mediaType, size, how: 'unchanged' })
  } else if (dest.tag) {
    const held = await (plan.held.get(tagKey(dest)) ?? heldBy(target, dest.tag))
    if (held === digest) {
      // Never written again: registries with immutable tags refuse even the same digest.
      reporter.event({ type: 'tag-written', ref, digest, mediaType, size, how: 'unchanged' })
      return
    }
    try {
      await target.pushManifest(root.descriptor, root.bytes, dest.tag, imageNameOf(dest))
    } catch (error) {
      throw overwriteRefused(error, ref, held, digest) ?? error
    }
    reporter.event({ type: 'tag-written', ref, digest, mediaType, size, how: 'tagged' })
  } else {
    if (isPinning(target)) await target.pin(root.descriptor, imageNameOf(dest))
    reporter.event({ type: 'tag-written', ref, digest, mediaType, size, how: 'stored' })
  }
}

/** The full name an archive gives the image (`io.containerd.image.name`), when the destination has one. */
function imageNameOf(dest: Destination): string | undefined {
  return dest.endpoint.kind === 'layout' ? dest.endpoint.imageName : undefined
}

/** What `tag` holds at a target the plan did not ask (a layout, or a destination found unchanged before a rewrite). */
async function heldBy(target: Target, tag: string): Promise<string | undefined> {
  if (!isManifestResolver(target)) return undefined
  return (await target.resolveManifest(tag).catch(() => undefined))?.digest
}
