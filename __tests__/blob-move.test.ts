/** How a blob's ending is counted (blob-move.ts). */
import { describe, expect, test } from '@jest/globals'
import { countOutcome } from '../src/engine/blob-move.js'
import { emptyStats, type BlobOutcome, type CopyStats } from '../src/engine/events.js'

describe('countOutcome', () => {
  test.each<[BlobOutcome, Partial<CopyStats>]>([
    ['uploaded', { blobsUploaded: 1, bytesUploaded: 7 }],
    ['mounted', { blobsMounted: 1 }],
    ['present', { blobsSkipped: 1 }]
  ])('%s', (outcome, counted) => {
    const stats = emptyStats()
    countOutcome(stats, outcome, { mediaType: 'application/octet-stream', digest: 'sha256:a', size: 7 })
    expect(stats).toEqual({ ...emptyStats(), ...counted })
  })
})
