/**
 * Media types of the manifests and blobs we meet (image-spec media-types.md, Docker image manifest
 * v2 schema 2), and what each one means for a copy.
 */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
export const DOCKER_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json'
export const DOCKER_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws'

export const OCI_EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json'
export const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json'
export const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip'

/** What we send as `Accept` on manifest requests: every manifest kind we copy, best first. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST, '*/*;q=0.1'].join(', ')

export type ManifestKind = 'index' | 'image'

const KINDS: ReadonlyMap<string, ManifestKind> = new Map([
  [OCI_INDEX, 'index'],
  [DOCKER_MANIFEST_LIST, 'index'],
  [OCI_MANIFEST, 'image'],
  [DOCKER_MANIFEST, 'image']
])

/** `index` for OCI indexes and Docker manifest lists, `image` for image manifests, else undefined. */
export function manifestKind(mediaType: string | undefined): ManifestKind | undefined {
  return mediaType === undefined ? undefined : KINDS.get(mediaType)
}

export function isSchema1(mediaType: string | undefined): boolean {
  return mediaType === DOCKER_SCHEMA1 || mediaType === DOCKER_SCHEMA1_SIGNED
}

/**
 * Foreign (Docker) and non-distributable (OCI) layers may not be pushed to other registries: the
 * manifest keeps referring to them and their bytes stay where they are.
 */
export function isDistributable(mediaType: string): boolean {
  return !(
    mediaType.startsWith('application/vnd.docker.image.rootfs.foreign.') ||
    mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.')
  )
}

/** RFC 6838 `type/subtype` (restricted names, no parameters): what image-spec asks of a descriptor's `mediaType` and `artifactType`. */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/

export function isMediaType(text: string): boolean {
  return MEDIA_TYPE.test(text)
}

/** The media type without parameters (`; charset=utf-8`), lowercased; undefined for an empty header. */
export function baseMediaType(contentType: string | undefined): string | undefined {
  const base = contentType?.split(';')[0].trim().toLowerCase()
  return base ? base : undefined
}
