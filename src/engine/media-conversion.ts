/**
 * Docker v2 schema 2 → OCI media types, for registries that refuse annotations on Docker
 * manifests (`ociMediaTypes: true`). Only manifest JSON changes; blobs keep their bytes, since
 * the Docker and OCI config and layer formats are the same (as regctl's `--to-oci` does).
 */
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../media-types.js'

const OCI_OF: ReadonlyMap<string, string> = new Map([
  [DOCKER_MANIFEST, OCI_MANIFEST],
  [DOCKER_MANIFEST_LIST, OCI_INDEX],
  ['application/vnd.docker.container.image.v1+json', 'application/vnd.oci.image.config.v1+json'],
  ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.oci.image.layer.v1.tar+gzip'],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip']
])

/** The OCI media type for a Docker one; any other type unchanged. */
export function ociMediaType(mediaType: string): string {
  return OCI_OF.get(mediaType) ?? mediaType
}

export function isDockerManifestType(mediaType: string): boolean {
  return mediaType === DOCKER_MANIFEST || mediaType === DOCKER_MANIFEST_LIST
}

type Json = Record<string, unknown>

/**
 * Converts manifest JSON in place: its own `mediaType`, its config's and layers'. Child
 * descriptors of an index are converted by the caller, which knows their new digests.
 */
export function convertManifestToOci(json: Json): void {
  if (typeof json.mediaType === 'string') json.mediaType = ociMediaType(json.mediaType)
  const config = json.config as Json | undefined
  if (config && typeof config.mediaType === 'string') config.mediaType = ociMediaType(config.mediaType)
  if (Array.isArray(json.layers)) {
    for (const layer of json.layers as Json[]) {
      if (typeof layer.mediaType === 'string') layer.mediaType = ociMediaType(layer.mediaType)
    }
  }
}
