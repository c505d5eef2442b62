/**
 * An archive whose blobs are entries named by their digest — an OCI layout's `blobs/<alg>/<hex>`,
 * a registry storage tree's `…/blobs/<alg>/<xx>/<hex>/data` — read as a {@link Source} by digest.
 * A manifest is used only once every blob it names is in the archive with the size it gives:
 * nothing is pushed from an archive that lacks part of what it names.
 */
import type { Readable } from 'node:stream'
import { isDigest } from '../digest.js'
import { ContentError } from '../errors.js'
import { shown } from '../escape.js'
import { blobsOf, parseManifest, type Descriptor } from '../manifest.js'
import type { FetchedManifest, OrderedSource, Source, TransferOptions } from '../storage.js'
import type { ArchiveContainer } from './container.js'

export abstract class DigestAddressedSource implements Source, OrderedSource {
  readonly name: string
  readonly sequential: boolean

  constructor(protected readonly container: ArchiveContainer) {
    this.name = container.path
    this.sequential = container.sequential
  }

  /** The entry holding the blob `digest`, a digest by the grammar. */
  protected abstract blobEntry(digest: string): string

  /** Why a manifest reference that is not a digest is refused (these archives are read by digest). */
  protected abstract notByDigest(reference: string): string

  async fetchManifest(reference: string): Promise<FetchedManifest> {
    if (!isDigest(reference)) throw new ContentError(`${this.name}@${reference}`, this.notByDigest(reference))
    const bytes = await this.container.readSmall(this.blobEntry(reference))
    for (const blob of blobsNamed(bytes)) this.checkBlob(blob)
    return { bytes }
  }

  fetchBlob(descriptor: Descriptor, options: TransferOptions = {}): Promise<Readable> {
    this.checkBlob(descriptor)
    return this.container.open(this.blobEntry(descriptor.digest), options.signal)
  }

  blobOrder(digest: string): number {
    return isDigest(digest) ? this.container.position(this.blobEntry(digest)) : 0
  }

  private checkBlob(descriptor: Descriptor): void {
    if (!isDigest(descriptor.digest)) {
      throw new ContentError(`${this.name}@${descriptor.digest}`, `${shown(descriptor.digest)} is not a digest (algorithm:hex)`)
    }
    const path = this.blobEntry(descriptor.digest)
    const size = this.container.size(path)
    if (size === undefined) throw new ContentError(this.name, `entry "${path}" is missing (named by a manifest)`)
    if (size !== descriptor.size) {
      throw new ContentError(this.name, `entry "${path}" has ${size} bytes, its descriptor says ${descriptor.size}`)
    }
  }
}

/**
 * The blobs an image manifest names, when the bytes parse as one. Bytes that do not (a manifest
 * whose type only its descriptor gives, or no manifest at all) name none here: the graph parses
 * them with their descriptor's media type and says what is wrong with them.
 */
export function blobsNamed(bytes: Buffer): Descriptor[] {
  try {
    return blobsOf(parseManifest(bytes, undefined, 'a manifest'))
  } catch (error) {
    if (error instanceof ContentError) return []
    throw error
  }
}
