/**
 * Where a copy goes: each destination with the tag it gets. A destination without a tag keeps
 * the source's tag; a digest-only source goes to such a destination by digest alone.
 */
import { atDigest, atTag, endpointDigest, endpointTag, formatEndpoint, storeKey, type Endpoint } from '../endpoint.js'
import { repositoryName } from '../reference.js'

export interface Destination {
  /** The store, with the tag written there if any. */
  endpoint: Endpoint
  tag?: string
  /** The source itself under the same tag: nothing to write. */
  unchanged: boolean
}

export function planDestinations(source: Endpoint, destinations: readonly Endpoint[]): Destination[] {
  const planned = new Map<string, Destination>()
  const sourceTag = endpointTag(source)
  for (const dest of destinations) {
    const tag = endpointTag(dest) ?? sourceTag
    // atTag keeps the scheme: it decides HTTP or HTTPS and which credentials (Helm's for oci://) apply.
    const placed = atTag(dest, tag)
    // An archive names its images as Docker 25 does: the source's repository, when it has one.
    const endpoint =
      placed.kind === 'layout' && placed.archive && !placed.imageName && source.kind === 'registry'
        ? { ...placed, imageName: repositoryName(source.reference) }
        : placed
    const unchanged = storeKey(source) === storeKey(dest) && endpointDigest(source) === undefined && tag === sourceTag
    const key = `${storeKey(endpoint)}:${tag ?? ''}`
    if (!planned.has(key)) planned.set(key, { endpoint, ...(tag ? { tag } : {}), unchanged })
  }
  return [...planned.values()]
}

/** `registry/repository:tag`, or `registry/repository@digest` for a destination written by digest. */
export function destinationName(destination: Destination, digest: string): string {
  return formatEndpoint(destination.tag ? destination.endpoint : atDigest(destination.endpoint, digest))
}
