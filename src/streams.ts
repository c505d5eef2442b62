/** Streams: read whole within a bound (manifests, configs, JSON), and files read in large pieces. */
import { close, createReadStream, open, read, type ReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
import { ContentError } from './errors.js'

/**
 * How much of a file one read takes, and the size zlib's output pieces come in. Node's defaults
 * (64 KiB reads, 16 KiB zlib pieces) cost a stream callback per piece: on a 256 MiB layer, reading
 * in 1 MiB pieces takes a third of the time, and gzip'ing in them a quarter (docs/performance.md).
 */
export const FILE_CHUNK = 1024 * 1024
/** Node's own read size: the least a file is read in. */
const SMALLEST_READ = 64 * 1024

export interface FileRange {
  start?: number
  /** Inclusive, as `fs.createReadStream` takes it. */
  end?: number
  /** The size the caller expects (a descriptor's), when it reads the whole file: reads are no larger. */
  expectedSize?: number
  signal?: AbortSignal
  /**
   * What the file's own failures (to open it, to read it) become instead of Node's error: one
   * naming the file, say. Not given: Node's errors as they are.
   */
  describeError?: (error: NodeJS.ErrnoException) => Error
}

/**
 * A file (or a byte range of it) as a stream read {@link FILE_CHUNK} at a time; a smaller one in
 * reads of its size, but no smaller than Node's default 64 KiB (Node allocates a whole read's
 * buffer, then copies what came, and a size that lies must not mean tiny reads).
 */
export function readFileStream(path: string, range: FileRange = {}): ReadStream {
  const known = range.end !== undefined ? range.end - (range.start ?? 0) + 1 : range.expectedSize
  const options: Parameters<typeof createReadStream>[1] = {
    highWaterMark: Math.min(FILE_CHUNK, Math.max(SMALLEST_READ, known ?? FILE_CHUNK))
  }
  if (range.start !== undefined) options.start = range.start
  if (range.end !== undefined) options.end = range.end
  if (range.signal) options.signal = range.signal
  if (range.describeError) options.fs = describingFs(range.describeError)
  return createReadStream(path, options)
}

/** Node's own `open`, `read` and `close` (the calls a read stream makes), their errors described. */
function describingFs(describe: (error: NodeJS.ErrnoException) => Error) {
  type Opened = (error: Error | null, fd?: number) => void
  type Read = (error: Error | null, bytesRead?: number, buffer?: Buffer) => void
  return {
    open: (path: string, flags: string, mode: number, callback: Opened) =>
      open(path, flags, mode, (error, fd) => (error ? callback(describe(error)) : callback(null, fd))),
    read: (fd: number, buffer: Buffer, offset: number, length: number, position: number | null, callback: Read) =>
      read(fd, buffer, offset, length, position, (error, bytesRead, bytes) =>
        error ? callback(describe(error), bytesRead, bytes) : callback(null, bytesRead, bytes)
      ),
    close
  }
}

/** Reads a stream whole, up to `limit` bytes; more than that is an error, not a truncation. */
export async function readCapped(body: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of body) {
    total += (chunk as Buffer).length
    if (total > limit) {
      body.destroy()
      throw new ContentError(what, `larger than ${limit} bytes`)
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}
