/**
 * One blob of a copy (copy-blob.ts) in a run of many (a mirror): a copy that claims a blob another
 * copy is putting into the same storage waits for it and moves nothing; a failure releases the
 * claim and is said.
 */
import { describe, expect, test } from '@jest/globals'
import { BlobLocator } from '../src/engine/blob-locator.js'
import { copyBlob } from '../src/engine/copy-blob.js'
import type { Source } from '../src/storage.js'
import { makeBlob } from '../testbed/fixtures.js'
import { blobCopy } from './helpers/blob-copy.js'
import { MemoryStore } from './helpers/memory-store.js'

/** A store whose blobs another handle on it sees: one repository, two copies writing to it. */
class SharedRepository extends MemoryStore {
  sharesBlobsWith(source: Source): boolean {
    return source === this
  }
}

const blob = makeBlob('application/octet-stream', Buffer.from('a shared layer'))

describe('copyBlob with a locator', () => {
  test('two copies into one repository side by side: the second waits, then has nothing to move', async () => {
    const source = new MemoryStore('src')
    source.blobs.set(blob.digest, blob.bytes)
    const target = new SharedRepository('dst')
    target.pushDelay = 20
    const locator = new BlobLocator()
    const first = blobCopy(source, target, { locator })
    const second = blobCopy(source, target, { locator })
    await Promise.all([copyBlob(blob, first.copy), copyBlob(blob, second.copy)])
    expect(target.calls).toEqual([`blobExists ${blob.digest}`, `pushBlob ${blob.digest}`])
    expect(first.copy.stats.blobsUploaded).toBe(1)
    expect(second.copy.stats.blobsSkipped).toBe(1)
    expect(second.events).toEqual([{ type: 'blob-done', target: 'dst', digest: blob.digest, size: blob.size, outcome: 'present' }])
  })

  test('a copy that fails says so and releases its claim: the next one places the blob itself', async () => {
    const empty = new MemoryStore('src')
    const target = new SharedRepository('dst')
    const locator = new BlobLocator()
    const failing = blobCopy(empty, target, { locator })
    await expect(copyBlob(blob, failing.copy)).rejects.toThrow('no blob')
    expect(failing.events.map((e) => e.type)).toEqual(['blob-started', 'blob-failed'])
    const source = new MemoryStore('src')
    source.blobs.set(blob.digest, blob.bytes)
    const next = blobCopy(source, target, { locator })
    await copyBlob(blob, next.copy)
    expect(next.copy.stats.blobsUploaded).toBe(1)
  })
})
