/** Which blobs of a copy run when (blob-schedule.ts): lanes as a table, and the first failure stopping the rest. */
import { describe, expect, test } from '@jest/globals'
import { Readable } from 'node:stream'
import { SMALL_BLOB_BYTES } from '../src/concurrency.js'
import { blobLanes, forEachBlob } from '../src/engine/blob-schedule.js'
import type { Descriptor } from '../src/manifest.js'
import type { OrderedSource, Source } from '../src/storage.js'

const blob = (name: string, size: number): Descriptor => ({ mediaType: 'application/octet-stream', digest: `sha256:${name}`, size })
const BIG = SMALL_BLOB_BYTES
const blobs = [blob('s1', 10), blob('b1', BIG), blob('s2', 20), blob('b2', BIG + 5)]

const plain: Source = {
  name: 'src',
  fetchManifest: () => Promise.reject(new Error('unused')),
  fetchBlob: () => Promise.resolve(Readable.from([]))
}
const archive = (sequential: boolean): Source & OrderedSource => ({
  ...plain,
  sequential,
  // Stored as the names sort: b1, b2, s1, s2.
  blobOrder: (digest) => ['b1', 'b2', 's1', 's2'].indexOf(digest.slice('sha256:'.length))
})

const names = (lanes: ReturnType<typeof blobLanes>) =>
  lanes.map((lane) => ({ blobs: lane.blobs.map((b) => b.digest.slice(7)), limit: lane.limit }))

describe('blobLanes', () => {
  test.each([
    ['a gzip’d archive: one at a time, as stored', archive(true), 8, [{ blobs: ['b1', 'b2', 's1', 's2'], limit: 1 }]],
    [
      'an archive read at random: as any source',
      archive(false),
      2,
      [
        { blobs: ['b2', 'b1'], limit: 2 },
        { blobs: ['s2', 's1'], limit: 8 }
      ]
    ],
    ['concurrency 1: one at a time, largest first, small blobs too', plain, 1, [{ blobs: ['b2', 'b1', 's2', 's1'], limit: 1 }]],
    [
      'concurrency 2: large two at once, small four times as many',
      plain,
      2,
      [
        { blobs: ['b2', 'b1'], limit: 2 },
        { blobs: ['s2', 's1'], limit: 8 }
      ]
    ],
    [
      'concurrency 16: small blobs capped at 32',
      plain,
      16,
      [
        { blobs: ['b2', 'b1'], limit: 16 },
        { blobs: ['s2', 's1'], limit: 32 }
      ]
    ]
  ])('%s', (_, source, concurrency, lanes) => {
    expect(names(blobLanes(blobs, { source, concurrency }))).toEqual(lanes)
  })

  test('the list given is left as it was', () => {
    const given = [...blobs]
    blobLanes(given, { source: plain, concurrency: 2 })
    expect(given).toEqual(blobs)
  })
})

describe('forEachBlob', () => {
  test('every blob once; the first failure aborts the signal the others hold, and is what is thrown', async () => {
    const seen: string[] = []
    const aborted: string[] = []
    const failure = new Error('s2 broke')
    const run = forEachBlob(blobs, { source: plain, concurrency: 2 }, async (b, signal) => {
      seen.push(b.digest)
      if (b.digest === 'sha256:s2') throw failure
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
      aborted.push(b.digest)
    })
    await expect(run).rejects.toBe(failure)
    // The large lane ran both its blobs at once; the small lane stopped at its failure.
    expect(seen.sort()).toEqual(['sha256:b1', 'sha256:b2', 'sha256:s1', 'sha256:s2'])
    expect(aborted.sort()).toEqual(['sha256:b1', 'sha256:b2', 'sha256:s1'])
  })
})
