/**
 * What to place where (blob-placement.ts): mounted from a store on the target's registry, else
 * found there, else uploaded — with, for a target that has nothing of the graph, the HEAD, the
 * upload session and the download started together (prefetch.ts).
 */
import { describe, expect, test } from '@jest/globals'
import { Readable } from 'node:stream'
import { mountSource, placeBlob, type Placing } from '../src/engine/blob-placement.js'
import { emptyStats } from '../src/engine/events.js'
import type { Descriptor } from '../src/manifest.js'
import type { BlobMounter, Source, UploadPreparer } from '../src/storage.js'
import { makeBlob } from '../testbed/fixtures.js'
import { blobCopy } from './helpers/blob-copy.js'
import { MemoryStore } from './helpers/memory-store.js'

/** A registry-like target: mounts from the stores it is told it can, and opens upload sessions ahead. */
class RegistryLike extends MemoryStore implements BlobMounter, UploadPreparer {
  constructor(
    name: string,
    private readonly mountable: readonly Source[] = [],
    private readonly mounts = true
  ) {
    super(name)
  }
  canMountFrom(source: Source): boolean {
    return this.mountable.includes(source)
  }
  mountBlob(descriptor: Descriptor, source: Source): Promise<boolean> {
    this.calls.push(`mountBlob ${descriptor.digest} from ${source.name}`)
    if (this.mounts) this.blobs.set(descriptor.digest, Buffer.alloc(0))
    return Promise.resolve(this.mounts)
  }
  prepareUpload(descriptor: Descriptor): Promise<void> {
    this.calls.push(`prepareUpload ${descriptor.digest}`)
    return Promise.resolve()
  }
  abandonUpload(descriptor: Descriptor): Promise<void> {
    this.calls.push(`abandonUpload ${descriptor.digest}`)
    return Promise.resolve()
  }
}

const blob = makeBlob('application/octet-stream', Buffer.from('a layer'))

function sourceWithBlob(): MemoryStore {
  const source = new MemoryStore('src')
  source.blobs.set(blob.digest, blob.bytes)
  return source
}

function placing(target: MemoryStore, extra: Partial<Placing> = {}, source = sourceWithBlob()) {
  const { copy, events } = blobCopy(source, target, extra)
  return { options: copy, source, events }
}

describe('mountSource', () => {
  const source = new MemoryStore('src')
  const earlier = new MemoryStore('earlier')
  test.each<[string, Source[], Source | undefined, Source | undefined]>([
    ['an earlier store it can mount from wins over the source', [earlier, source], earlier, earlier],
    ['an earlier store it cannot mount from: the source', [source], earlier, source],
    ['no earlier store: the source', [source], undefined, source],
    ['neither: no mount', [], earlier, undefined]
  ])('%s', (_, mountable, mountFrom, expected) => {
    expect(mountSource(new RegistryLike('dst', mountable), source, mountFrom)).toBe(expected)
  })
})

describe('placeBlob', () => {
  test('mounted: nothing asked before the mount, nothing read', async () => {
    const source = sourceWithBlob()
    const target = new RegistryLike('dst', [source])
    const { options, events } = placing(target, {}, source)
    expect(await placeBlob(blob, options)).toBe('mounted')
    expect(target.calls).toEqual([`mountBlob ${blob.digest} from src`])
    expect(source.calls).toEqual([])
    expect(options.stats.blobsMounted).toBe(1)
    expect(events.map((e) => e.type)).toEqual(['blob-done'])
  })

  test('a mount refused: uploaded without asking whether it is there', async () => {
    const source = sourceWithBlob()
    const target = new RegistryLike('dst', [source], false)
    const { options } = placing(target, { fresh: true }, source)
    expect(await placeBlob(blob, options)).toBe('uploaded')
    expect(target.calls).toEqual([`mountBlob ${blob.digest} from src`, `pushBlob ${blob.digest}`])
    expect(options.stats.blobsUploaded).toBe(1)
  })

  test.each([
    ['there already', true, 'present', []],
    ['missing', false, 'uploaded', ['fetchBlob']]
  ])('not fresh, %s: HEAD first, then the upload', async (_, present, outcome, reads) => {
    const target = new RegistryLike('dst')
    if (present) target.blobs.set(blob.digest, blob.bytes)
    const { options, source, events } = placing(target)
    expect(await placeBlob(blob, options)).toBe(outcome)
    expect(target.calls).toEqual([`blobExists ${blob.digest}`, ...(present ? [] : [`pushBlob ${blob.digest}`])])
    expect(source.calls.map((c) => c.split(' ')[0])).toEqual(reads)
    expect(events.map((e) => e.type)).toEqual(present ? ['blob-done'] : ['blob-started', 'blob-progress', 'blob-done'])
  })

  test('fresh and missing: HEAD, upload session and download at once, the download taken by the upload', async () => {
    const target = new RegistryLike('dst')
    const { options, source } = placing(target, { fresh: true })
    expect(await placeBlob(blob, options)).toBe('uploaded')
    expect(target.calls).toEqual([`blobExists ${blob.digest}`, `prepareUpload ${blob.digest}`, `pushBlob ${blob.digest}`])
    expect(source.calls).toEqual([`fetchBlob ${blob.digest}`])
    expect(target.blobs.get(blob.digest)).toEqual(blob.bytes)
    expect(options.stats).toEqual({ ...emptyStats(), blobsUploaded: 1, bytesUploaded: blob.size })
  })

  test('fresh but there: the upload session abandoned, the download destroyed', async () => {
    const target = new RegistryLike('dst')
    target.blobs.set(blob.digest, blob.bytes)
    const { options, source } = placing(target, { fresh: true })
    let download: Readable | undefined
    source.fetchBlob = () => Promise.resolve((download = Readable.from([blob.bytes])))
    expect(await placeBlob(blob, options)).toBe('present')
    expect(target.calls).toEqual([`blobExists ${blob.digest}`, `prepareUpload ${blob.digest}`, `abandonUpload ${blob.digest}`])
    expect(download?.destroyed).toBe(true)
    expect(options.stats.blobsSkipped).toBe(1)
  })
})
