/**
 * Where a copy goes: each destination reference with the tag it gets. A destination without a tag
 * keeps the source's tag; a digest-only source goes to such a destination by digest alone.
 */
import { formatReference, sameRepository, type Reference } from '../reference.js'

export interface Destination {
  /** The repository, and the tag written there if any. */
  reference: Reference
  tag?: string
  /** The source itself under the same tag: nothing to write. */
  unchanged: boolean
}

export function planDestinations(source: Reference, destinations: readonly Reference[]): Destination[] {
  const planned = new Map<string, Destination>()
  for (const dest of destinations) {
    const tag = dest.tag ?? source.tag
    // The scheme stays: it decides HTTP or HTTPS and which credentials (Helm's for oci://) apply.
    const reference: Reference = {
      registry: dest.registry,
      repository: dest.repository,
      ...(tag ? { tag } : {}),
      ...(dest.scheme ? { scheme: dest.scheme } : {})
    }
    const unchanged = sameRepository(source, dest) && source.digest === undefined && tag === source.tag
    const key = formatReference(reference)
    if (!planned.has(key)) planned.set(key, { reference, ...(tag ? { tag } : {}), unchanged })
  }
  return [...planned.values()]
}

/** `registry/repository:tag`, or `registry/repository@digest` for a destination written by digest. */
export function destinationName(destination: Destination, digest: string): string {
  return destination.tag ? formatReference(destination.reference) : formatReference({ ...destination.reference, digest })
}
