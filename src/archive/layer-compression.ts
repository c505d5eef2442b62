/**
 * Legacy `docker save` layers are uncompressed tars; registries get them gzip'd. The gzip is
 * deterministic — a level chosen from the layer's own first bytes, 1 MiB blocks deflated on every
 * core to the same bytes as on one ({@link createParallelGzip}), no name, mtime 0 — so the same
 * layer gives the same digest on every run and machine (with the zlib Node bundles: Node 20 and 24
 * agree), and a re-run pushes nothing new. A layer
 * is compressed once, its digests taken on the way: straight into a streamed upload where the
 * registry takes one (see `engine/ahead-uploads.ts`), else into a temporary file ({@link LayerSpool}).
 */
import { createHash, type Hash } from 'node:crypto'
import { PassThrough, Transform, type Readable, type TransformCallback, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip, deflateRawSync, type Gzip } from 'node:zlib'
import { FILE_CHUNK } from '../streams.js'
import { createParallelGzip } from './parallel-gzip.js'
export interface CompressedLayer {
  /** Digest and size of the gzip'd layer, as pushed. */
  digest: string
  size: number
  /** Digest of the uncompressed layer: what the config's `rootfs.diff_ids` lists. */
  diffId: string
  /** The gzip level it was measured with: the upload must use the same. */
  level: number
}

/**
 * The level for layers that compress, chosen by measurement (docs/performance.md, issue 25): on a
 * save of real files (`/usr/bin`, locales, docs, 586 MiB) level 1 pushes in 0.88× skopeo's time
 * with 1.07× its bytes; level 4 would be 1.03× `gzip -6`'s size at 80% of level 1's speed, level
 * 6 half its speed. Compression is what the push waits on: the fastest level within 1.10× of
 * skopeo's size is the one.
 */
const LEVEL = 1
/** The first bytes judge how well a layer compresses. */
const SAMPLE = 1024 * 1024

/**
 * Content that deflate cannot shrink (already-compressed files, media) is stored in the gzip
 * (level 0): the same bytes, framed, at memory speed instead of ~100 MB/s of futile deflating.
 */
export function chooseLevel(sample: Buffer): number {
  if (sample.length === 0) return LEVEL
  return deflateRawSync(sample, { level: 1 }).length >= sample.length * 0.97 ? 0 : LEVEL
}

/** The gzip a layer gets: on every core, the same bytes for the same layer however it is read. */
export function layerGzip(level: number): Transform {
  return createParallelGzip({ level })
}

/**
 * A packaged directory's or file's gzip (`path`): zlib's level 6 on one core, written in
 * {@link FILE_CHUNK} pieces, so a package pushed before gets the same digest again.
 */
export function deterministicGzip(level = 6): Gzip {
  return createGzip({ level, chunkSize: FILE_CHUNK })
}

/** Hashes and counts what passes through it, unchanged. */
class Tally extends Transform {
  size = 0

  constructor(private readonly hash: Hash) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk)
    this.size += chunk.length
    done(null, chunk)
  }
}

export interface MeasureOptions {
  /** Makes the gzip for a level (a test hands in one it breaks). */
  makeGzip?: (level: number) => Transform
  /** Receives the gzip'd bytes (a spool file); ended when the layer is. Without it nothing is kept. */
  output?: Writable
}

/**
 * Compresses `layer` once: the digests, size and level it has, and its gzip'd bytes written to
 * `output` when given. The level is chosen from the first {@link SAMPLE} bytes, read before the
 * gzip is made; then one `pipeline` carries the whole layer through. It listens for errors on every
 * stream for as long as any of them runs (a zlib error between two writes rejects this promise,
 * never escapes as an uncaught 'error' event), waits out backpressure with one `drain` listener
 * per stream (no listener left per wait: Node's MaxListenersExceededWarning), and destroys them
 * all on failure.
 */
export async function measureCompressed(layer: Readable, options: MeasureOptions = {}): Promise<CompressedLayer> {
  const { makeGzip, output } = options
  const { body, measured } = await compressingLayer(layer, makeGzip ? { makeGzip } : {})
  await pipeline(body, output ?? discard)
  return measured
}

/** A layer being compressed: its gzip'd bytes as they come, and what they were once they have all come. */
export interface CompressingLayer {
  body: Readable
  /** Settles when `body` has ended (or failed); never left unhandled. */
  measured: Promise<CompressedLayer>
}

export interface CompressingOptions {
  makeGzip?: (level: number) => Transform
  level?: number
  /** Checks the layer once measured, before {@link CompressingLayer.measured} resolves: a throw rejects it (and so the upload's last request). */
  check?: (layer: CompressedLayer) => void
}

/**
 * Compresses `layer` as a stream, for an upload that sends the bytes as they are made (one
 * streamed PATCH): the same level rule and the same bytes as {@link measureCompressed}, the
 * digests taken on the way. `level` repeats the level a first pass chose (a read of
 * a layer measured before) instead of judging the sample again.
 */
export async function compressingLayer(layer: Readable, options: CompressingOptions = {}): Promise<CompressingLayer> {
  const { makeGzip = layerGzip } = options
  const raw = createHash('sha256')
  const compressed = createHash('sha256')
  const chunks = layer[Symbol.asyncIterator]()
  const sample = await readSample(chunks).catch((error: unknown) => {
    layer.destroy()
    throw error
  })
  const level = options.level ?? chooseLevel(sample.subarray(0, SAMPLE))
  async function* whole(): AsyncGenerator<Buffer> {
    raw.update(sample)
    if (sample.length > 0) yield sample
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      raw.update(next.value as Buffer)
      yield next.value as Buffer
    }
  }
  const tally = new Tally(compressed)
  const body = new PassThrough({ highWaterMark: FILE_CHUNK })
  const measured = pipeline(whole(), makeGzip(level), tally, body).then(
    () => {
      const done = { digest: `sha256:${compressed.digest('hex')}`, size: tally.size, diffId: `sha256:${raw.digest('hex')}`, level }
      options.check?.(done)
      return done
    },
    (error: unknown) => {
      layer.destroy()
      throw error
    }
  )
  measured.catch(() => {})
  return { body, measured }
}

async function discard(chunks: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of chunks) {
    // Measured on the way; nothing kept.
  }
}

/** The layer's first {@link SAMPLE} bytes or more (whole chunks), or all of it when it is shorter. */
async function readSample(chunks: AsyncIterator<unknown>): Promise<Buffer> {
  const sample: Buffer[] = []
  let sampled = 0
  while (sampled < SAMPLE) {
    const next = await chunks.next()
    if (next.done) break
    sample.push(next.value as Buffer)
    sampled += (next.value as Buffer).length
  }
  return Buffer.concat(sample)
}
