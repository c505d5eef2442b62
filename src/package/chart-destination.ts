/**
 * Where a Helm chart is pushed. `helm push mychart-0.1.0.tgz oci://ghcr.io/org/charts` pushes to
 * `ghcr.io/org/charts/mychart:0.1.0` (Helm's pkg/pusher: the chart name is joined to the path,
 * the version is the tag), and users who know Helm write destinations that way. So an `oci://`
 * destination without tag or digest is read as Helm reads it; any other form (no `oci://`, or a
 * tag) names the repository exactly, which keeps every destination written before Helm's form was
 * followed where it was.
 */
import { atTag, endpointDigest, endpointTag, formatEndpoint, type Endpoint } from '../endpoint.js'
import { InputError } from '../errors.js'
import { isRepositoryName } from '../reference.js'
import { param } from '../words.js'

/** Registry and repository together, as the reference grammar bounds them. */
const MAX_NAME_LENGTH = 255

export interface ChartName {
  /** Chart.yaml's `name`. */
  name: string
  /** The tag the chart is pushed under (its version, `+` written `_`). */
  tag: string
}

/** Whether `destination` is written as Helm's namespace form: `oci://host/path`, no tag, no digest. */
export function isHelmNamespace(destination: Endpoint): boolean {
  return (
    destination.kind === 'registry' &&
    destination.reference.scheme === 'oci' &&
    endpointTag(destination) === undefined &&
    endpointDigest(destination) === undefined
  )
}

/** `destination` as `helm push` reads it: the chart's name appended to a namespace, at its version. */
export function chartDestination(destination: Endpoint, chart: ChartName): Endpoint {
  if (destination.kind !== 'registry' || !isHelmNamespace(destination)) return destination
  const { registry, repository } = destination.reference
  const appended = `${repository}/${chart.name}`
  // Helm's chart names may hold what a repository path may not (capitals): say so rather than push elsewhere.
  if (chart.name.includes('/') || !isRepositoryName(appended) || registry.length + 1 + appended.length > MAX_NAME_LENGTH) {
    throw new InputError(
      'destRef',
      `${formatEndpoint(destination)} with oci:// and no tag is where helm push puts the chart under its name, but the chart name "${chart.name}" cannot be a repository path component (lowercase letters, digits, and . _ - between them); give ${param('destRef')} the whole repository without oci:// or with a tag, e.g. ${registry}/${repository}/<name>:${chart.tag}`
    )
  }
  return atTag({ kind: 'registry', reference: { ...destination.reference, repository: appended } }, chart.tag)
}
