/** Streams: read whole within a bound (manifests, configs, JSON), and files read in large pieces. */
import { createReadStream, type ReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
import { ContentError } from './errors.js'

/**
 * How much of a file one read takes, and the size zlib's output pieces come in. Node's defaults
 * (64 KiB reads, 16 KiB zlib pieces) cost a stream callback per piece: on a 256 MiB layer, reading
 * in 1 MiB pieces takes a third of the time, and gzip'ing in them a quarter (docs/performance.md).
 */
export const FILE_CHUNK = 1024 * 1024

export interface FileRange {
  start?: number
  /** Inclusive, as `fs.createReadStream` takes it. */
  end?: number
  signal?: AbortSignal
}

/** A file (or a byte range of it) as a stream read {@link FILE_CHUNK} at a time. */
export function readFileStream(path: string, range: FileRange = {}): ReadStream {
  const options: Parameters<typeof createReadStream>[1] = { highWaterMark: FILE_CHUNK }
  if (range.start !== undefined) options.start = range.start
  if (range.end !== undefined) options.end = range.end
  if (range.signal) options.signal = range.signal
  return createReadStream(path, options)
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
