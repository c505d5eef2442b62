/**
 * A gzip'd tar as an {@link ArchiveContainer}, streamed and never extracted. gzip cannot be read
 * at an offset, so it takes two passes: the first indexes every entry, keeps the small JSON files
 * (manifests, configs, index.json, manifest.json) and hashes what legacy layers will become once
 * compressed (their digest must be known before their upload starts); the second streams the
 * blobs to their destination in the order they are stored. A retry of a blob already passed
 * starts the stream again from the top.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { extract, type Header } from 'tar-stream'
import { ContentError } from '../errors.js'
import { MAX_JSON_BYTES, type ArchiveContainer } from './container.js'
import { measureCompressed, type CompressedLayer } from './layer-compression.js'
import { EntryTable, entryType, linkTarget, normaliseName, type TarEntry } from './tar-entries.js'

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
    /** For uncompressed files: what they are once gzip'd (legacy docker-save layers). */
    readonly compressed: ReadonlyMap<string, CompressedLayer>
  ) {}

  /** The first pass. */
  static async open(path: string): Promise<GzipTarContainer> {
    const entries = new EntryTable(path)
    const small = new Map<string, Buffer>()
    const compressed = new Map<string, CompressedLayer>()
    const compressedSize = (await stat(path)).size
    const scan = startScan(path, compressedSize)
    try {
      for (let position = 0; ; position++) {
        const next = await scan.entries.next()
        if (next.done) break
        const stream = next.value
        const entry = toEntry(stream.header, position, path)
        if (!entry) {
          stream.resume()
          continue
        }
        entries.add(entry)
        if (entry.type !== 'file') {
          stream.resume()
          continue
        }
        const kind = await firstBytesKind(stream, entry.size)
        if (kind === 'json' && entry.size <= MAX_JSON_BYTES) small.set(entry.name, await collect(stream))
        else if (kind === 'plain') compressed.set(entry.name, await measureCompressed(stream))
        else await drain(stream)
      }
    } finally {
      scan.close()
    }
    return new GzipTarContainer(path, entries, small, compressed)
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

  readSmall(name: string): Promise<Buffer> {
    const entry = this.entry(name)
    const bytes = this.small.get(entry.name)
    if (bytes) return Promise.resolve(bytes)
    if (entry.size > MAX_JSON_BYTES)
      return Promise.reject(new ContentError(this.path, `entry "${name}" is larger than ${MAX_JSON_BYTES} bytes`))
    return Promise.reject(new ContentError(this.path, `entry "${name}" is not JSON`))
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

/** A pass over the archive. `compressedSize` bounds how far the stream may expand (a gzip bomb). */
function startScan(path: string, compressedSize: number): Scan {
  const file = createReadStream(path)
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
