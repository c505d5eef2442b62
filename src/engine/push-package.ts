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
import { chartDestination, isHelmNamespace } from '../package/chart-destination.js'
import { requireChartTag } from '../package/helm.js'
import { packagePath, type Packaged } from '../package/package.js'
import type { Descriptor } from '../manifest.js'
import { isReadable, type LocalOpener } from '../storage.js'

export interface PackageRequest extends Omit<CopyRequest, 'source'> {
  path: string
  artifactType?: string
  subject?: Endpoint
  sourceDateEpoch?: number
}

export async function pushPackage(
  stores: LocalOpener<Endpoint>,
  request: PackageRequest,
  logger: Reporter,
  options: RunOptions = {}
): Promise<CopyResult> {
  const { path, artifactType, subject, sourceDateEpoch, ...copyOptions } = request
  const subjectDescriptor = subject ? await resolveSubject(stores, subject, logger) : undefined
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
  const destinations = packagedDestinations(request.destinations, packaged, subject !== undefined)
  const result = await copyArtifact(
    stores,
    { ...copyOptions, source: { kind: 'package', path, digest: packaged.root.digest }, destinations },
    logger,
    options
  )
  // A dry run writes nothing: the referrer is not recorded either.
  if (subjectDescriptor && !options.dryRun) await recordAsReferrer(stores, packaged, subjectDescriptor, destinations, logger)
  return result
}

/**
 * Where the package goes. A chart's version is its tag when destRef gives none, and an `oci://`
 * destination without a tag is a namespace the chart's name is appended to, as `helm push` does.
 * A referrer goes by digest unless tagged, into exactly the repository given: it is found through
 * its subject's repository, which a name appended would leave.
 */
function packagedDestinations(destinations: readonly Endpoint[], packaged: Packaged, referrer: boolean): Endpoint[] {
  const { tag, chartName } = packaged
  if (referrer || tag === undefined) return [...destinations]
  return destinations.map((d) => {
    if (chartName !== undefined && isHelmNamespace(d)) return chartDestination(d, { name: chartName, tag })
    return endpointTag(d) === undefined ? atTag(d, tag) : d
  })
}

/** The manifest `subject` names: what the package refers to. */
async function resolveSubject(stores: LocalOpener<Endpoint>, subject: Endpoint, logger: Reporter): Promise<Descriptor> {
  const store = await stores.source(subject)
  const { descriptor } = await fetchRoot(store, endpointDigest(subject) ?? endpointTag(subject) ?? '')
  logger.event({ type: 'subject-resolved', ref: storeKey(subject), digest: descriptor.digest })
  return descriptor
}

/**
 * Lists the pushed package as a referrer of `subject` in each destination store once: by the
 * registry's API (nothing to write) or in the tag schema index (read-modify-write).
 */
async function recordAsReferrer(
  stores: LocalOpener<Endpoint>,
  packaged: Packaged,
  subject: Descriptor,
  destinations: readonly Endpoint[],
  logger: Reporter
): Promise<void> {
  const manifest = (await packaged.source.fetchManifest(packaged.root.digest)).bytes
  const listed = referrerDescriptor(manifest, packaged.root)
  for (const key of new Set(destinations.map(storeKey))) {
    const target = await stores.target(destinations.find((d) => storeKey(d) === key) as Endpoint)
    // Registries and layouts are read as well as written: the tag schema index is read-modify-write.
    if (!isReadable(target)) continue
    const via = await recordReferrer(target, subject.digest, listed)
    logger.event({ type: 'referrer-recorded', subject: subject.digest, target: target.name, via })
  }
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
