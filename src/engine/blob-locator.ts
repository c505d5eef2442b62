/**
 * Where blobs already are (or are being put) during a run of many copies: a mirror whose entries
 * share base layers moves each blob across the network once per destination registry, and later
 * repositories mount it from the first (DESIGN §9). A copy that finds the blob on its way to
 * another repository of the same registry waits for that upload, then mounts; one on its way to the
 * same repository (two tags sharing layers, copied side by side) waits, then has nothing to move.
 */
import { isBlobMounter, isReadable, sharesBlobs, type Source, type Target } from '../storage.js'

interface Place {
  store: Target & Source
  /** Settles true once the blob is stored there, false if that failed. */
  stored: Promise<boolean>
}

/** Where a copy finds a blob another copy of the run has stored. */
export type Found = { kind: 'present' } | { kind: 'mount'; from: Source }

export class BlobLocator {
  private readonly places = new Map<string, Place[]>()

  /**
   * Claims `digest` for `target` and says where it finds it, once a copy that claimed it earlier
   * has stored it: in its own storage (another pair copying into the same repository: nothing to
   * move), or in a store it can mount from; undefined when no earlier copy has it. The claim is
   * made at once, so of two copies side by side the second always waits on the first. Settle the
   * claim with whether the blob got there.
   */
  locate(digest: string, target: Target): { found: Promise<Found | undefined>; settle: (stored: boolean) => void } {
    const earlier = [...(this.places.get(digest) ?? [])]
    const settle = this.claim(digest, target)
    return { found: this.firstOf(earlier, target), settle }
  }

  private async firstOf(places: readonly Place[], target: Target): Promise<Found | undefined> {
    for (const place of places) {
      const same = sharesBlobs(target, place.store)
      if (!same && !(isBlobMounter(target) && target.canMountFrom(place.store))) continue
      if (await place.stored) return same ? { kind: 'present' } : { kind: 'mount', from: place.store }
    }
    return undefined
  }

  /** Says that `target` is getting `digest`; call the answer with whether it got it. */
  private claim(digest: string, target: Target): (stored: boolean) => void {
    if (!isReadable(target)) return () => {}
    let settle: (stored: boolean) => void = () => {}
    const stored = new Promise<boolean>((resolve) => (settle = resolve))
    const places = this.places.get(digest) ?? []
    places.push({ store: target, stored })
    this.places.set(digest, places)
    return settle
  }
}
