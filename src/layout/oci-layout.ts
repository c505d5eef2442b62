/**
 * An OCI image layout directory (image-spec image-layout.md): `oci-layout`, `index.json`, and
 * content under `blobs/<alg>/<hex>`. Read as a source and written as a target: blobs go to a
 * temporary name first and are renamed once complete, and `index.json` is replaced atomically, so
 * a failed copy leaves no half-written file under a digest and no tag pointing at nothing.
 */
import { randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { algorithmOf } from '../digest.js'
import { ContentError } from '../errors.js'
import { fileSystemError, makeDirectories, onFile, systemCode, writeHint } from '../files.js'
import { MAX_MANIFEST_BYTES, type Descriptor } from '../manifest.js'
import type { FetchedManifest, Source, TagIndex, Target, TransferOptions } from '../storage.js'
import { readFileStream } from '../streams.js'
import { chooseEntry, isNamed, layoutBlobEntry, parseLayoutIndex, type LayoutIndex } from './entries.js'

/** The annotation that names an entry of `index.json` (image-spec annotations.md). */
export const REF_NAME = 'org.opencontainers.image.ref.name'
const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' })
/** A blob's file, written under a temporary name: named by its own. */
const blobWrite = { hint: writeHint, exact: true }

export class OciLayout implements Source, Target, TagIndex {
  readonly name: string
  /** index.json updates, one after another. */
  private indexWrites: Promise<unknown> = Promise.resolve()

  constructor(readonly dir: string) {
    this.name = dir
  }

  /** A tag names an entry of `index.json`; a digest a manifest under `blobs/`; none the only entry. */
  async fetchManifest(reference: string): Promise<FetchedManifest> {
    const descriptor = reference.includes(':') ? undefined : chooseEntry(await this.index(), reference || undefined, this.name)
    const digest = descriptor?.digest ?? reference
    const bytes = await this.readSmall(digest)
    return { bytes, ...(descriptor ? { contentType: descriptor.mediaType, claimedDigest: descriptor.digest } : {}) }
  }

  /** The digest `reference` (a tag, or '' for the only entry) stands for. */
  async resolve(reference: string): Promise<Descriptor> {
    return chooseEntry(await this.index(), reference || undefined, this.name)
  }

  /** The blob's file as a stream; failing to open or read it is an error naming it (not one to try again). */
  fetchBlob(descriptor: Descriptor, options: TransferOptions = {}): Promise<Readable> {
    const path = this.blobPath(descriptor.digest)
    return new Promise((resolve, reject) => {
      const stream = readFileStream(path, {
        expectedSize: descriptor.size,
        ...(options.signal ? { signal: options.signal } : {}),
        describeError: (error) =>
          error.code === 'ENOENT'
            ? new ContentError(`${this.name}@${descriptor.digest}`, 'blob is missing from the layout')
            : (fileSystemError(error, 'read', path) as Error)
      })
      stream.once('open', () => resolve(stream))
      stream.once('error', reject)
    })
  }

  manifestExists(descriptor: Descriptor): Promise<boolean> {
    return this.has(descriptor)
  }

  blobExists(descriptor: Descriptor): Promise<boolean> {
    return this.has(descriptor)
  }

  /** Same directory: every blob is there already. */
  sharesBlobsWith(source: Source): boolean {
    return source instanceof OciLayout && source.dir === this.dir
  }

  async pushBlob(descriptor: Descriptor, open: () => Promise<Readable>, options: TransferOptions = {}): Promise<void> {
    const final = this.blobPath(descriptor.digest)
    const temporary = `${final}.${randomUUID()}.tmp`
    await this.makeDirectory(join(this.dir, 'blobs', algorithmOf(descriptor.digest)))
    try {
      const input = await open()
      const output = createWriteStream(temporary)
      let refused: unknown
      output.once('error', (error) => (refused = error))
      try {
        // The stream is verified by the copy as it flows: a mismatch fails it before the rename.
        await pipeline(input, output, options.signal ? { signal: options.signal } : {})
      } catch (error) {
        // The file's own error is the layout's; any other (the source's, an abort) is thrown as it is.
        throw error === refused ? fileSystemError(error, 'write', final, blobWrite) : error
      }
      const written = (await onFile('write', final, () => stat(temporary), blobWrite)).size
      if (written !== descriptor.size)
        throw new ContentError(`${this.name}@${descriptor.digest}`, `wrote ${written} bytes, expected ${descriptor.size}`)
      await onFile('write', final, () => rename(temporary, final), blobWrite)
    } finally {
      // Not removable either (the directory refuses writes): nothing was written to it then.
      await rm(temporary, { force: true }).catch(() => undefined)
    }
  }

  async pushManifest(descriptor: Descriptor, bytes: Buffer, tag?: string): Promise<void> {
    if (!(await this.has(descriptor))) await this.pushBlob(descriptor, () => Promise.resolve(Readable.from([bytes])))
    if (tag !== undefined) await this.updateIndex(descriptor, tag)
  }

  /** Lists a root written without a tag in `index.json`, so it is not garbage. */
  async pin(descriptor: Descriptor): Promise<void> {
    if (!(await this.index()).manifests.some((d) => d.digest === descriptor.digest)) await this.updateIndex(descriptor, undefined)
  }

  /** Whether index.json names an entry `tag`. */
  async hasTag(tag: string): Promise<boolean> {
    return (await this.index()).manifests.some((d) => isNamed(d, tag))
  }

  /** `index.json`, or an empty index for a directory that has none yet. */
  async index(): Promise<LayoutIndex> {
    const path = join(this.dir, 'index.json')
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      // None there, or no directory there at all (a destination not made yet, or that cannot be: the write says why).
      const code = systemCode(error)
      if (code === 'ENOENT' || code === 'ENOTDIR') return { schemaVersion: 2, manifests: [] }
      throw fileSystemError(error, 'read', path)
    }
    if (text.length > MAX_MANIFEST_BYTES) throw new ContentError(`${this.name}/index.json`, `larger than ${MAX_MANIFEST_BYTES} bytes`)
    return parseLayoutIndex(text, `${this.name}/index.json`)
  }

  private updateIndex(descriptor: Descriptor, tag: string | undefined): Promise<void> {
    const write = this.indexWrites.then(async () => {
      await this.makeDirectory(this.dir)
      const layoutFile = join(this.dir, 'oci-layout')
      await onFile('write', layoutFile, () => writeFile(layoutFile, LAYOUT_FILE), { hint: writeHint })
      const index = await this.index()
      const entry: Descriptor = {
        mediaType: descriptor.mediaType,
        digest: descriptor.digest,
        size: descriptor.size,
        ...(tag !== undefined ? { annotations: { [REF_NAME]: tag } } : {})
      }
      // One entry per name: the tag moves; a nameless entry is listed once. "Named" is what the
      // reader (chooseEntry) takes for the tag, containerd's image name included: an entry left
      // behind under that name would make `DIR:tag` ambiguous the next time it is read.
      const kept = index.manifests.filter((d) => (tag !== undefined ? !isNamed(d, tag) : d.digest !== descriptor.digest))
      const final = join(this.dir, 'index.json')
      const temporary = `${final}.${randomUUID()}.tmp`
      try {
        await writeFile(temporary, JSON.stringify({ ...index, schemaVersion: 2, manifests: [...kept, entry] }))
        await rename(temporary, final)
      } catch (error) {
        await rm(temporary, { force: true }).catch(() => undefined)
        throw fileSystemError(error, 'write', final, { hint: writeHint, exact: true })
      }
    })
    this.indexWrites = write.catch(() => undefined)
    return write
  }

  private async has(descriptor: Descriptor): Promise<boolean> {
    try {
      return (await stat(this.blobPath(descriptor.digest))).size === descriptor.size
    } catch {
      return false
    }
  }

  private async readSmall(digest: string): Promise<Buffer> {
    const path = this.blobPath(digest)
    let size: number
    try {
      size = (await stat(path)).size
    } catch (error) {
      const code = systemCode(error)
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new ContentError(`${this.name}@${digest}`, 'manifest is missing from the layout')
      throw fileSystemError(error, 'read', path)
    }
    if (size > MAX_MANIFEST_BYTES) throw new ContentError(`${this.name}@${digest}`, `manifest is larger than ${MAX_MANIFEST_BYTES} bytes`)
    return onFile('read', path, () => readFile(path))
  }

  /** `directory` and its parents, made as needed; a refusal names the layout and the system's reason. */
  private makeDirectory(directory: string): Promise<void> {
    return onFile('create the layout directory', this.dir, () => makeDirectories(directory), { hint: writeHint })
  }

  /** `blobs/<alg>/<hex>`; a digest that is not one never becomes a path (every caller passes a checked one). */
  private blobPath(digest: string): string {
    return join(this.dir, layoutBlobEntry(digest, `${this.name}@${digest}`))
  }
}
