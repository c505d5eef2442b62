/**
 * Pushes what archives hold: each archive opened once, its images chosen and named
 * ({@link planArchivePushes}), each image copied by the same engine as any other source.
 */
import type { ArchiveInput } from '../archive/archive-paths.js'
import { copyArtifact, type CopyRequest, type CopyResult, type RunOptions } from './copy-artifact.js'
import { emptyStats } from './copy-graph.js'
import type { Reporter } from './request.js'
import type { PlatformSpec } from '../platform.js'
import type { Endpoint } from '../endpoint.js'
import { openArchive, type OpenedArchive } from '../archive/open-archive.js'
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

/** The results of every image, as one; undefined when the archives held no image. */
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
  const results: CopyResult[] = []
  for (const archive of archives) {
    const ahead = aheadUploads(stores, archive, request, logger, options)
    let opened: OpenedArchive
    try {
      opened = await openArchive(archive.path, ahead ? { listener: ahead } : {})
    } catch (error) {
      await ahead?.stop()
      throw error
    }
    try {
      const run = ahead ? { ...options, ahead: ahead.lookup } : options
      for (const result of await pushArchive(stores, archive, opened, { ...request, targets }, logger, run)) results.push(result)
    } finally {
      // Nothing may still read the spool when it goes.
      await ahead?.stop()
      // Its temporary files (a legacy docker save's gzip'd layers) go as soon as its images are pushed.
      if (isClosable(opened.source)) await opened.source.close()
    }
  }
  return combine(results)
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
  return new AheadUploads({
    target,
    concurrency: request.concurrency ?? DEFAULT_CONCURRENCY,
    logger,
    events: (event) => logger.event(event),
    ...(request.retry ? { retry: request.retry } : {})
  })
}

/** Every image an opened archive's names select, each copied by the engine. */
async function pushArchive(
  stores: LocalOpener<Endpoint>,
  archive: ArchiveInput,
  opened: OpenedArchive,
  request: ArchiveRequest & { targets: ArchiveDestination[] },
  logger: Reporter,
  options: RunOptions
): Promise<CopyResult[]> {
  const { archives: _archives, destinations: _destinations, prefixes: _prefixes, targets, ...copyOptions } = request
  logger.event({ type: 'archive-opened', path: archive.path, kind: opened.kind, images: opened.images.length })
  if (opened.images.length === 0) {
    logger.warning(`${archive.path} holds no image; nothing was pushed from it`)
    return []
  }
  stores.addLocal('archive', archive.path, opened.source)
  const pushes = planArchivePushes(archive.path, opened.images, {
    ...(archive.digest ? { digest: archive.digest } : {}),
    platforms: request.platforms ?? [],
    destinations: targets
  })
  const results: CopyResult[] = []
  for (const push of pushes) {
    const source: Endpoint = { kind: 'archive', path: archive.path, digest: push.image.descriptor.digest }
    results.push(await copyArtifact(stores, { ...copyOptions, source, destinations: push.destinations }, logger, options))
  }
  return results
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
