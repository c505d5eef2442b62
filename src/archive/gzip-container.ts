/**
 * A gzip'd tar as an {@link ArchiveContainer}, streamed and never extracted. gzip cannot be read
 * at an offset, so the first pass indexes every entry, keeps the small JSON files the image graph
 * reads whole (index.json, manifest.json, oci-layout, manifests and indexes, image configs) and
 * compresses what the files a legacy docker save uses as layers into a {@link LayerSpool} (their
 * digest must be known before their upload starts; the upload then reads the spool, so a legacy
 * docker save is read through the gzip once). An OCI layout's blobs are streamed to their
 * destination on a second pass, in the order they are stored, as a mindthegap bundle's are (its
 * tags' links are kept on the first pass, its other links passed over); a retry of a blob already
 * passed starts the stream again from the top. The first pass is bounded as the plain tar's index
 * is: so many entries, so many bytes of JSON kept.
 */
import { stat } from 'node:fs/promises'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { extract, type Header } from 'tar-stream'
import { ContentError } from '../errors.js'
import { parseManifest } from '../manifest.js'
import { formatBytes } from '../size.js'
import { readCapped, readFileStream } from '../streams.js'
import { MAX_JSON_BYTES, type ArchiveContainer } from './container.js'
import type { LayerSpool, SpooledLayer } from './layer-spool.js'
import { isStorageBlob, isStorageTreeEntry, MAX_LINK_BYTES, tagLinkOf } from './registry-storage-paths.js'
import { BUNDLE_CONFIGS } from './registry-tree.js'
import { EntryTable, entryType, linkTarget, MAX_ENTRIES, normaliseName, type TarEntry } from './tar-entries.js'

/** Room for headers and padding beyond the declared sizes, per entry and in all. */
const HEADER_ALLOWANCE = 3 * 512
const SLACK = 1024 * 1024

interface Scan {
  entries: AsyncIterator<Readable & { header: Header }>
  /** Index of the last entry handed out or skipped. */
  position: number
  close(): void
}

export class GzipTarContainer implements ArchiveContainer {
  readonly sequential = true
  private scan: Scan | undefined

  private constructor(
    readonly path: string,
    private readonly entries: EntryTable,
    private readonly small: ReadonlyMap<string, Buffer>,
    /** For uncompressed files: their gzip'd bytes in the spool (legacy docker-save layers). */
    readonly compressed: ReadonlyMap<string, SpooledLayer>
  ) {}

  /** The first pass; uncompressed files outside `blobs/` go gzip'd into `spool`. */
  static async open(path: string, spool: LayerSpool, limits: FirstPassLimits = FIRST_PASS_LIMITS): Promise<GzipTarContainer> {
    const pass = new FirstPass(path, spool, limits)
    const scan = startScan(path, (await stat(path)).size)
    try {
      for (let position = 0; ; position++) {
        const next = await scan.entries.next()
        if (next.done) break
        await pass.read(next.value, position)
      }
    } finally {
      scan.close()
    }
    return new GzipTarContainer(path, pass.entries, pass.small, pass.compressed)
  }

  names(): string[] {
    return [...this.entries.names()]
  }

  canonicalName(name: string): string {
    return this.entries.file(name)?.name ?? name
  }

  size(name: string): number | undefined {
    return this.entries.file(name)?.size
  }

  position(name: string): number {
    return this.entries.file(name)?.offset ?? 0
  }

  /** Kept by the first pass, or else read (capped) on a second one, as a plain tar reads it. */
  async readSmall(name: string): Promise<Buffer> {
    const entry = this.entry(name)
    const bytes = this.small.get(entry.name)
    if (bytes) return bytes
    if (entry.size > MAX_JSON_BYTES) throw new ContentError(this.path, `entry "${name}" is larger than ${MAX_JSON_BYTES} bytes`)
    return readCapped(await this.open(name), MAX_JSON_BYTES, name)
  }

  /** The second pass, resumed where it stopped; restarted from the top for an entry already passed. */
  async open(name: string): Promise<Readable> {
    const entry = this.entry(name)
    const cached = this.small.get(entry.name)
    if (cached) return Readable.from([cached])
    const target = entry.offset
    if (!this.scan || this.scan.position >= target) {
      this.scan?.close()
      this.scan = startScan(this.path, Number.POSITIVE_INFINITY)
    }
    const scan = this.scan
    for (;;) {
      const next = await scan.entries.next()
      if (next.done) throw new ContentError(this.path, `entry "${name}" was not found on a second read`)
      scan.position++
      if (scan.position === target) return next.value
      await drain(next.value)
    }
  }

  private entry(name: string): TarEntry {
    const entry = this.entries.file(name)
    if (!entry) throw new ContentError(this.path, `entry "${name}" is missing`)
    return entry
  }
}

/** What the first pass holds at most. */
export interface FirstPassLimits {
  /** Entries in the index: the plain tar's bound. */
  entries: number
  /** JSON files kept whole, in all (each is at most {@link MAX_JSON_BYTES}). */
  keptJsonBytes: number
}

/**
 * Thousands of images' manifests and configs fit in 64 MiB many times over; JSON layers (SBOMs,
 * attestations) are not kept, so this is a last guard, against a tar of many JSON files that are
 * not blobs.
 */
export const FIRST_PASS_LIMITS: FirstPassLimits = { entries: MAX_ENTRIES, keptJsonBytes: 64 * 1024 * 1024 }

/**
 * Content an OCI layout stores by digest (`blobs/<alg>/<encoded>`, image-spec image-layout.md):
 * pushed as it is, never gzip'd by us, so not measured. A legacy docker save keeps its layers
 * elsewhere (`<id>/layer.tar`, `<hex>.tar`); one that did not would have them measured when read.
 */
export function isLayoutBlob(name: string): boolean {
  return /^blobs\/[^/]+\/[^/]+$/.test(name)
}

/** Content stored by digest: an OCI layout's blob, or a registry storage tree's `data` (a mindthegap bundle's). */
function isContentBlob(name: string): boolean {
  return isLayoutBlob(name) || isStorageBlob(name)
}

/**
 * What the first pass does with an entry of a registry storage tree (a mindthegap bundle) that is
 * not a blob: a tag's link, a few dozen bytes, is kept for the images it names (one too large to
 * be a link is refused by its size, unread); the other links, `_uploads` and the rest are passed
 * over. Never gzip'd into the spool as a legacy save's layers are.
 */
function treeEntryKept(entry: TarEntry): boolean {
  return tagLinkOf(entry.name) !== undefined && entry.size <= MAX_LINK_BYTES
}

/** The first pass, entry by entry: the index, the JSON files, legacy layers gzip'd into the spool. */
class FirstPass {
  readonly entries: EntryTable
  readonly small = new Map<string, Buffer>()
  readonly compressed = new Map<string, SpooledLayer>()
  private keptBytes = 0

  constructor(
    private readonly path: string,
    private readonly spool: LayerSpool,
    private readonly limits: FirstPassLimits
  ) {
    this.entries = new EntryTable(path)
  }

  async read(stream: Readable & { header: Header }, position: number): Promise<void> {
    if (position >= this.limits.entries) throw new ContentError(this.path, `has more than ${this.limits.entries} entries`)
    const entry = toEntry(stream.header, position, this.path)
    if (entry) this.entries.add(entry)
    if (entry?.type !== 'file') return drain(stream)
    if (isStorageTreeEntry(entry.name) && !isStorageBlob(entry.name)) {
      if (treeEntryKept(entry)) this.keep(entry, await collect(stream))
      else await drain(stream)
      return
    }
    const kind = await firstBytesKind(stream, entry.size)
    if (kind === 'json' && entry.size <= MAX_JSON_BYTES) return this.keepIfRead(entry, await collect(stream))
    if (kind === 'plain' && !isContentBlob(entry.name) && !BUNDLE_CONFIGS.has(entry.name))
      this.compressed.set(entry.name, await this.spool.keep(stream, `${this.path} entry "${entry.name}"`))
    else await drain(stream)
  }

  /**
   * Keeps a JSON file the graph reads whole. Any file not stored by digest may be (index.json,
   * manifest.json, a legacy save's configs); a blob (a layout's `blobs/…`, a registry storage
   * tree's `…/data`) only when it is a manifest or an index, or an
   * image config naming its platform. Other JSON blobs are layers (SBOMs, attestations): only their
   * place is kept, and they stream on the second pass like any layer.
   */
  private keepIfRead(entry: TarEntry, bytes: Buffer): void {
    if (isContentBlob(entry.name) && !readWhole(bytes)) return
    this.keep(entry, bytes)
  }

  /** Keeps a file's bytes for {@link GzipTarContainer.readSmall}, within {@link FirstPassLimits.keptJsonBytes} in all. */
  private keep(entry: TarEntry, bytes: Buffer): void {
    this.keptBytes += entry.size
    if (this.keptBytes > this.limits.keptJsonBytes) {
      throw new ContentError(
        this.path,
        `holds more than ${formatBytes(this.limits.keptJsonBytes)} of JSON files (at "${entry.name}"); gunzip it and give the plain tar, which is read in place`
      )
    }
    this.small.set(entry.name, bytes)
  }
}

/**
 * Whether a layout blob is JSON the graph reads whole: a manifest or an index as `fetchManifest`
 * parses one, or an image config with `os` and `architecture` (read for `platforms` and
 * platform-scoped annotations). What this leaves out is still read, on a second pass, if asked for.
 */
function readWhole(bytes: Buffer): boolean {
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch {
    return false
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false
  const { os, architecture } = json as Record<string, unknown>
  if (typeof os === 'string' && typeof architecture === 'string') return true
  try {
    parseManifest(bytes, undefined, 'a layout blob')
    return true
  } catch (error) {
    if (error instanceof ContentError) return false
    throw error
  }
}

/** A pass over the archive. `compressedSize` bounds how far the stream may expand (a gzip bomb). */
function startScan(path: string, compressedSize: number): Scan {
  const file = readFileStream(path)
  const gunzip = createGunzip()
  const tar = extract()
  const guard = new ExpansionGuard(path, compressedSize)
  tar.on('entry', (header: Header) => guard.declare(header.size ?? 0))
  file.on('error', (error) => tar.destroy(error))
  gunzip.on('error', (error) => tar.destroy(new ContentError(path, `is not a valid gzip stream (${error.message})`)))
  guard.on('error', (error) => tar.destroy(error))
  file.pipe(gunzip).pipe(guard).pipe(tar)
  const entries = tar[Symbol.asyncIterator]() as AsyncIterator<Readable & { header: Header }>
  return {
    entries,
    position: -1,
    close: () => {
      file.destroy()
      gunzip.destroy()
      tar.destroy()
    }
  }
}

/**
 * Fails the stream when it expands past what its headers declare (plus headers and padding),
 * or past the most gzip can expand the file at all.
 */
class ExpansionGuard extends Transform {
  private declared = 0
  private passed = 0
  private entries = 0

  constructor(
    private readonly path: string,
    private readonly compressedSize: number
  ) {
    super()
  }

  declare(size: number): void {
    this.declared += size
    this.entries++
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.passed += chunk.length
    const allowed = this.declared + (this.entries + 1) * HEADER_ALLOWANCE + SLACK
    // deflate expands at most ~1032:1; anything beyond that is not a real stream.
    if (this.passed > allowed || this.passed > this.compressedSize * 1100 + SLACK) {
      done(new ContentError(this.path, 'expands past the sizes its entries declare; refusing it'))
      return
    }
    done(null, chunk)
  }
}

/** tar-stream's entry types as the typeflags they come from. */
const TAR_FLAGS: Readonly<Record<string, string>> = {
  file: '0',
  directory: '5',
  symlink: '2',
  link: '1',
  'character-device': '3',
  'block-device': '4',
  fifo: '6',
  'contiguous-file': '7'
}

function toEntry(header: Header, position: number, archive: string): TarEntry | undefined {
  const flag = TAR_FLAGS[header.type ?? 'file']
  if (flag === undefined) return undefined
  const type = entryType(flag, header.name, archive)
  if (!type) return undefined
  const entry: TarEntry = {
    name: normaliseName(header.name, archive),
    type,
    size: type === 'file' ? (header.size ?? 0) : 0,
    offset: position
  }
  if (type === 'symlink') entry.linkname = linkTarget(entry, header.linkname ?? '', archive)
  if (type === 'hardlink') entry.linkname = normaliseName(header.linkname ?? '', archive)
  return entry
}

/** Whether a file looks like JSON (`{` or `[`), gzip, or anything else (an uncompressed layer), from its first byte. */
async function firstBytesKind(stream: Readable, size: number): Promise<'json' | 'gzip' | 'plain'> {
  if (size === 0) return 'plain'
  const first = await new Promise<Buffer>((resolve, reject) => {
    const onReadable = () => {
      const chunk = stream.read(Math.min(2, size)) as Buffer | null
      if (chunk) {
        stream.off('readable', onReadable)
        stream.unshift(chunk)
        resolve(chunk)
      }
    }
    stream.on('readable', onReadable)
    stream.once('error', reject)
    onReadable()
  })
  if (first[0] === 0x7b || first[0] === 0x5b) return 'json'
  if (first[0] === 0x1f && first[1] === 0x8b) return 'gzip'
  return 'plain'
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function drain(stream: Readable): Promise<void> {
  for await (const _ of stream) {
    // Skipping an entry means reading it.
  }
}
