/**
 * Packages `path` and pushes it (DESIGN §1 use case 5): to destRef, or — with `subject` and no
 * destRef — into the subject's repository by digest, then records it as a referrer of the subject
 * where it was pushed (the referrers API, else the tag schema index).
 */
import { copyArtifact, type CopyRequest, type CopyResult, type RunOptions } from './copy-artifact.js'
import { fetchRoot } from './graph.js'
import { atTag, endpointDigest, endpointTag, storeKey, type Endpoint } from '../endpoint.js'
import { InputError } from '../errors.js'
import type { Reporter } from './request.js'
import { referrerDescriptor } from '../referrers.js'
import { recordReferrer } from './referrers-store.js'
import { isReadable } from '../storage.js'
import type { Stores } from '../stores.js'
import { requireChartTag } from '../package/helm.js'
import { packagePath } from '../package/package.js'

export interface PackageRequest extends Omit<CopyRequest, 'source'> {
  path: string
  artifactType?: string
  subject?: Endpoint
  sourceDateEpoch?: number
}

export async function pushPackage(
  stores: Stores,
  request: PackageRequest,
  logger: Reporter,
  options: RunOptions = {}
): Promise<CopyResult> {
  const { path, artifactType, subject, sourceDateEpoch, ...copyOptions } = request
  let subjectDescriptor
  if (subject) {
    const store = await stores.source(subject)
    subjectDescriptor = (await fetchRoot(store, endpointDigest(subject) ?? endpointTag(subject) ?? '')).descriptor
    logger.event({ type: 'subject-resolved', ref: storeKey(subject), digest: subjectDescriptor.digest })
  }
  const tag = request.destinations.map(endpointTag).find((t) => t !== undefined)
  const packaged = await packagePath(path, {
    ...(artifactType ? { artifactType } : {}),
    ...(tag ? { tag } : {}),
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
    ...(subjectDescriptor ? { subject: subjectDescriptor } : {})
  })
  if (packaged.tag) requireOneVersion(request.destinations, packaged.tag)
  for (const notice of packaged.notices) logger.notice(notice)
  logger.event({ type: 'package-made', path, kind: packaged.kind, digest: packaged.root.digest })
  stores.addLocal('package', path, packaged.source)
  // A chart's version is its tag when destRef gives none; a referrer goes by digest unless tagged.
  const destinations = request.destinations.map((d) =>
    endpointTag(d) === undefined && packaged.tag && !subject ? atTag(d, packaged.tag) : d
  )
  const result = await copyArtifact(
    stores,
    { ...copyOptions, source: { kind: 'package', path, digest: packaged.root.digest }, destinations },
    logger,
    options
  )
  // A dry run writes nothing: the referrer is not recorded either.
  if (subjectDescriptor && !options.dryRun) {
    const manifest = (await packaged.source.fetchManifest(packaged.root.digest)).bytes
    const listed = referrerDescriptor(manifest, packaged.root)
    const seen = new Set<string>()
    for (const destination of destinations) {
      if (seen.has(storeKey(destination))) continue
      seen.add(storeKey(destination))
      const target = await stores.target(destination)
      // Registries and layouts are read as well as written: the tag schema index is read-modify-write.
      if (!isReadable(target)) continue
      const via = await recordReferrer(target, subjectDescriptor.digest, listed)
      logger.event({ type: 'referrer-recorded', subject: subjectDescriptor.digest, target: target.name, via })
    }
  }
  return result
}

/** A chart holds one version, and Helm pushes it under that version only: every tag must be it. */
function requireOneVersion(destinations: readonly Endpoint[], chartTag: string): void {
  for (const tag of destinations.map(endpointTag)) {
    if (tag === undefined || tag === chartTag) continue
    requireChartTag(tag)
    throw new InputError(
      'destRef',
      `the tag ${tag} differs from the chart version ${chartTag}; a chart is pushed under its own version only`
    )
  }
}
