/**
 * What to place where: a blob gets to its target the cheapest way there is, mounted from a store
 * on the target's registry that has it (distribution-spec "Mounting a blob from another
 * repository"), else found there already, else uploaded from the source.
 */
import type { Descriptor } from '../manifest.js'
import { isBlobMounter, isUploadPreparer, type BlobMounter, type Source } from '../storage.js'
import { reportDone, type BlobMove } from './blob-move.js'
import { uploadBlob } from './blob-upload.js'
import type { BlobOutcome } from './events.js'
import { prefetchUnlessPresent, type Prefetched } from './prefetch.js'

export interface Placing extends BlobMove {
  /**
   * A store holding the blob on the target's registry (an earlier destination, or where another
   * copy of the run put it): mounted from when the target can, so bytes cross the network once
   * per registry.
   */
  mountFrom?: Source
  /** Nothing of the graph is at the target: check, open the upload and read the source at once (`prefetch.ts`). */
  fresh?: boolean
}

/** Places `blob` at the target as {@link findPlace} says; counted and reported, how it ended. */
export async function placeBlob(blob: Descriptor, placing: Placing): Promise<BlobOutcome> {
  const place = await findPlace(blob, placing)
  if (place.kind === 'upload') await uploadBlob(blob, placing, place.prefetched)
  const outcome = place.kind === 'upload' ? 'uploaded' : place.kind
  reportDone(blob, placing, outcome)
  return outcome
}

type Place = { kind: 'mounted' | 'present' } | { kind: 'upload'; prefetched?: Prefetched }

/**
 * Mounted from a store on the target's registry, there already, or to upload — with, where
 * nothing of the graph is at the target, the upload session and the source read started
 * alongside the existence check.
 */
async function findPlace(blob: Descriptor, placing: Placing): Promise<Place> {
  const { source, target, signal, logger } = placing
  if (isBlobMounter(target)) {
    const from = mountSource(target, source, placing.mountFrom)
    if (from) {
      const mounted = await target.mountBlob(blob, from, { signal })
      logger.debug(mounted ? `mounted ${blob.digest}` : `mount of ${blob.digest} refused; uploading`)
      return { kind: mounted ? 'mounted' : 'upload' }
    }
  }
  if (!placing.fresh || !isUploadPreparer(target)) return (await target.blobExists(blob)) ? { kind: 'present' } : { kind: 'upload' }
  const found = await prefetchUnlessPresent(blob, { source, target, signal })
  return found.present ? { kind: 'present' } : { kind: 'upload', prefetched: found.prefetched }
}

/** The store `target` mounts from: `mountFrom` when it can, else the copy's source when it can; undefined when neither. */
export function mountSource(target: BlobMounter, source: Source, mountFrom: Source | undefined): Source | undefined {
  const from = mountFrom && target.canMountFrom(mountFrom) ? mountFrom : source
  return target.canMountFrom(from) ? from : undefined
}
