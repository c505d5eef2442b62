/** An in-memory Source and Target that records every call: for testing the graph walk alone. */
import { Readable } from 'node:stream'
import type { Descriptor } from '../../src/manifest.js'
import type { FetchedManifest, Source, Target } from '../../src/storage.js'
import type { Fixture } from '../../testbed/fixtures.js'

export class MemoryStore implements Source, Target {
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>()
  readonly blobs = new Map<string, Buffer>()
  readonly tags = new Map<string, string>()
  readonly calls: string[] = []
  /** Blob pushes under way now, and the most there ever were at once. */
  inFlight = 0
  peakInFlight = 0
  /** Milliseconds each blob push takes, so pushes overlap when the caller runs them concurrently. */
  pushDelay = 0

  constructor(readonly name: string) {}

  static with(name: string, fixture: Fixture, tag: string): MemoryStore {
    const store = new MemoryStore(name)
    for (const blob of fixture.blobs) store.blobs.set(blob.digest, blob.bytes)
    for (const m of [...fixture.children, fixture.root]) store.manifests.set(m.digest, { bytes: m.bytes, mediaType: m.mediaType })
    store.tags.set(tag, fixture.root.digest)
    return store
  }

  fetchManifest(reference: string): Promise<FetchedManifest> {
    this.calls.push(`fetchManifest ${reference}`)
    const found = this.manifests.get(this.tags.get(reference) ?? reference)
    if (!found) return Promise.reject(new Error(`no manifest ${reference}`))
    return Promise.resolve({ bytes: found.bytes, contentType: found.mediaType })
  }

  fetchBlob(descriptor: Descriptor): Promise<Readable> {
    this.calls.push(`fetchBlob ${descriptor.digest}`)
    const found = this.blobs.get(descriptor.digest)
    if (!found) return Promise.reject(new Error(`no blob ${descriptor.digest}`))
    return Promise.resolve(Readable.from([found]))
  }

  manifestExists(descriptor: Descriptor): Promise<boolean> {
    this.calls.push(`manifestExists ${descriptor.digest}`)
    return Promise.resolve(this.manifests.has(descriptor.digest))
  }

  blobExists(descriptor: Descriptor): Promise<boolean> {
    this.calls.push(`blobExists ${descriptor.digest}`)
    return Promise.resolve(this.blobs.has(descriptor.digest))
  }

  async pushBlob(descriptor: Descriptor, open: () => Promise<Readable>): Promise<void> {
    this.calls.push(`pushBlob ${descriptor.digest}`)
    this.peakInFlight = Math.max(this.peakInFlight, ++this.inFlight)
    try {
      const chunks: Buffer[] = []
      for await (const chunk of await open()) chunks.push(chunk as Buffer)
      if (this.pushDelay > 0) await new Promise((resolve) => setTimeout(resolve, this.pushDelay))
      this.blobs.set(descriptor.digest, Buffer.concat(chunks))
    } finally {
      this.inFlight--
    }
  }

  pushManifest(descriptor: Descriptor, bytes: Buffer, tag?: string): Promise<void> {
    this.calls.push(`pushManifest ${tag ?? descriptor.digest}`)
    this.manifests.set(descriptor.digest, { bytes, mediaType: descriptor.mediaType })
    if (tag) this.tags.set(tag, descriptor.digest)
    return Promise.resolve()
  }
}
