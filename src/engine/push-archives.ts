/**
 * Pushes what archives hold: each archive opened once, its images chosen and named
 * ({@link planArchivePushes}), each image copied by the same engine as any other source.
 */
import type { ArchiveInput } from '../archive/archive-paths.js'
import { planArtifact, runPlanned, type CopyRequest, type CopyResult, type PlannedCopy, type RunOptions } from './copy-artifact.js'
import { emptyStats } from './events.js'
import type { Reporter } from './request.js'
import type { PlatformSpec } from '../platform.js'
import type { Endpoint } from '../endpoint.js'
import type { ArchiveImage } from '../archive/archive-sources.js'
import { openArchive, type OpenedArchive } from '../archive/open-archive.js'
import type { Platform } from '../manifest.js'
import { manifestKind } from '../media-types.js'
import { configPlatform, fetchRoot } from './graph.js'
import { DEFAULT_CONCURRENCY } from '../concurrency.js'
import { AheadUploads } from './ahead-uploads.js'
import { planArchivePushes, type ArchiveDestination } from '../archive/select.js'
import { isClosable, isWarmable, type LocalOpener } from '../storage.js'

export interface ArchiveRequest extends Omit<CopyRequest, 'source' | 'destinations'> {
  archives: readonly ArchiveInput[]
  destinations: readonly Endpoint[]
  prefixes: readonly string[]
  platforms?: readonly PlatformSpec[]
}

/**
 * The results of every image, as one; undefined when the archives held no image. Every archive is
 * opened and every copy planned (names, platforms, sizes, destinations) before the first write:
 * a mistake in any of them fails the step with nothing written.
 */
export async function pushArchives(
  stores: LocalOpener<Endpoint>,
  request: ArchiveRequest,
  logger: Reporter,
  options: RunOptions = {}
): Promise<CopyResult | undefined> {
  const { archives, destinations, prefixes } = request
  const targets: ArchiveDestination[] = [
    ...destinations.map((endpoint) => ({ kind: 'exact' as const, endpoint })),
    ...prefixes.map((prefix) => ({ kind: 'prefix' as const, prefix }))
  ]
  const opened: Array<{ archive: OpenedArchive; ahead?: AheadUploads }> = []
  try {
    const planned: Array<{ copy: PlannedCopy; ahead?: AheadUploads }> = []
    for (const archive of archives) {
      // Layers uploaded while the archive is read are writes: only when it is the step's one archive.
      const ahead = archives.length === 1 ? aheadUploads(stores, archive, request, logger, options) : undefined
      let archiveOpened: OpenedArchive
      try {
        archiveOpened = await openArchive(archive.path, ahead ? { listener: ahead } : {})
      } catch (error) {
        await ahead?.stop()
        throw error
      }
      opened.push({ archive: archiveOpened, ...(ahead ? { ahead } : {}) })
      for (const copy of await planArchive(stores, archive, archiveOpened, { ...request, targets }, logger)) {
        planned.push({ copy, ...(ahead ? { ahead } : {}) })
      }
    }
    const results: CopyResult[] = []
    for (const { copy, ahead } of planned)
      results.push(await runPlanned(copy, logger, ahead ? { ...options, ahead: ahead.lookup } : options))
    return combine(results)
  } finally {
    for (const { archive, ahead } of opened) {
      // Nothing may still read the spool when it goes.
      await ahead?.stop()
      // Its temporary files (a legacy docker save's gzip'd layers) go once the step's images are pushed.
      if (isClosable(archive.source)) await archive.source.close()
    }
  }
}

/**
 * Uploads of a docker save's layers while the rest are compressed, when where they go is known
 * before the archive is open: not a dry run, destinations named exactly (not prefixes), no
 * platform or digest choosing among images (the archive itself offers them only when it holds
 * one image). They go to the first destination; later ones mount from it in the copy.
 */
function aheadUploads(
  stores: LocalOpener<Endpoint>,
  archive: ArchiveInput,
  request: ArchiveRequest,
  logger: Reporter,
  options: RunOptions
): AheadUploads | undefined {
  const [first] = request.destinations
  if (options.dryRun || !first || request.prefixes.length > 0 || request.platforms?.length || archive.digest) return undefined
  // Opened and pinged now, while the first layer is compressed: that round trip is off the path.
  const target = stores.target(first)
  void target.then((store) => (isWarmable(store) ? store.warm() : undefined)).catch(() => {})
  const tag = first.kind === 'registry' ? first.reference.tag : undefined
  return new AheadUploads({
    target,
    ...(tag ? { tag } : {}),
    concurrency: request.concurrency ?? DEFAULT_CONCURRENCY,
    logger,
    events: (event) => logger.event(event),
    ...(request.retry ? { retry: request.retry } : {})
  })
}

/** Every image an opened archive's names select, each copy planned (nothing written). */
async function planArchive(
  stores: LocalOpener<Endpoint>,
  archive: ArchiveInput,
  opened: OpenedArchive,
  request: ArchiveRequest & { targets: ArchiveDestination[] },
  logger: Reporter
): Promise<PlannedCopy[]> {
  const { archives: _archives, destinations: _destinations, prefixes: _prefixes, targets, ...copyOptions } = request
  logger.event({ type: 'archive-opened', path: archive.path, kind: opened.kind, images: opened.images.length })
  if (opened.images.length === 0) {
    logger.warning(`${archive.path} holds no image; nothing was pushed from it`)
    return []
  }
  stores.addLocal('archive', archive.path, opened.source)
  const pushes = planArchivePushes(archive.path, await withPlatforms(opened), {
    ...(archive.digest ? { digest: archive.digest } : {}),
    platforms: request.platforms ?? [],
    destinations: targets
  })
  const planned: PlannedCopy[] = []
  for (const push of pushes) {
    const source: Endpoint = { kind: 'archive', path: archive.path, digest: push.image.descriptor.digest }
    planned.push(await planArtifact(stores, { ...copyOptions, source, destinations: push.destinations }, logger))
  }
  return planned
}

/**
 * The archive's images, each with its platform: the index descriptor's, else (several images, an
 * OCI layout's entries say none) its config's, so that a choice by `platforms` works and a list
 * in an error says what each is. An index keeps none: the copy chooses inside it.
 */
async function withPlatforms(opened: OpenedArchive): Promise<ArchiveImage[]> {
  if (new Set(opened.images.map((image) => image.descriptor.digest)).size < 2) return [...opened.images]
  const platforms = new Map<string, Promise<Platform | undefined>>()
  const platformOf = (digest: string) => {
    let platform = platforms.get(digest)
    if (!platform) {
      platform = fetchRoot(opened.source, digest).then((root) => configPlatform(opened.source, root))
      platforms.set(digest, platform)
    }
    return platform
  }
  const images: ArchiveImage[] = []
  for (const image of opened.images) {
    if (image.descriptor.platform || manifestKind(image.descriptor.mediaType) !== 'image') {
      images.push(image)
      continue
    }
    const platform = await platformOf(image.descriptor.digest)
    images.push(platform ? { ...image, descriptor: { ...image.descriptor, platform } } : image)
  }
  return images
}

function combine(results: readonly CopyResult[]): CopyResult | undefined {
  const [first] = results
  if (!first) return undefined
  const stats = emptyStats()
  for (const { stats: s } of results) for (const key of Object.keys(stats) as Array<keyof typeof stats>) stats[key] += s[key]
  return {
    ...first,
    pushed: results.flatMap((r) => r.pushed),
    rewritten: results.flatMap((r) => r.rewritten),
    referrers: results.flatMap((r) => r.referrers),
    stats,
    seconds: results.reduce((sum, r) => sum + r.seconds, 0),
    ...(first.planned ? { planned: { bytes: results.reduce((sum, r) => sum + (r.planned?.bytes ?? 0), 0) } } : {})
  }
}
