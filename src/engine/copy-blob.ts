/**
 * One blob of a copy, cheapest path first: placed ahead, else where another copy of the run put
 * it (or is putting it), else placed as {@link placeBlob} finds best.
 */
import type { Descriptor } from '../manifest.js'
import type { BlobLocator } from './blob-locator.js'
import { reportDone } from './blob-move.js'
import { placeBlob, type Placing } from './blob-placement.js'
import { placedAhead, type AheadLookup } from './placed-ahead.js'

export interface BlobCopy extends Placing {
  /** Where blobs are across a run of many copies (a mirror): mounted from when the target can. */
  locator?: BlobLocator
  /** Blobs placed at a target before this copy began (a docker save's layers, see `ahead-uploads.ts`). */
  ahead?: AheadLookup
}

export async function copyBlob(blob: Descriptor, copy: BlobCopy): Promise<void> {
  if (await placedAhead(blob, copy)) return
  // The claim is made before anything is asked, so a copy side by side waits on this one.
  const { found, settle } = copy.locator?.locate(blob.digest, copy.target) ?? {}
  try {
    const where = await found
    if (where?.kind === 'present') reportDone(blob, copy, 'present')
    else await placeBlob(blob, { ...copy, mountFrom: where?.from ?? copy.mountFrom })
    settle?.(true)
  } catch (error) {
    settle?.(false)
    copy.events({ type: 'blob-failed', target: copy.target.name, digest: blob.digest, size: blob.size })
    throw error
  }
}
