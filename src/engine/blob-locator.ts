/**
 * Where blobs already are (or are being put) during a run of many copies: a mirror whose entries
 * share base layers moves each blob across the network once per destination registry, and later
 * repositories mount it from the first (DESIGN §9). A copy that finds the blob on its way to
 * another repository of the same registry waits for that upload, then mounts.
 */
import { isBlobMounter, isReadable, type Source, type Target } from '../storage.js'

interface Place {
  store: Target & Source
  /** Settles true once the blob is stored there, false if that failed. */
  stored: Promise<boolean>
}

export class BlobLocator {
  private readonly places = new Map<string, Place[]>()

  /** A store that `target` can mount `digest` from, once it is stored there; undefined when none. */
  async mountSource(digest: string, target: Target): Promise<Source | undefined> {
    if (!isBlobMounter(target)) return undefined
    for (const place of this.places.get(digest) ?? []) {
      if (!target.canMountFrom(place.store)) continue
      if (await place.stored) return place.store
    }
    return undefined
  }

  /** Says that `target` is getting `digest`; call the answer with whether it got it. */
  claim(digest: string, target: Target): (stored: boolean) => void {
    if (!isReadable(target)) return () => {}
    let settle: (stored: boolean) => void = () => {}
    const stored = new Promise<boolean>((resolve) => (settle = resolve))
    const places = this.places.get(digest) ?? []
    places.push({ store: target, stored })
    this.places.set(digest, places)
    return settle
  }
}
