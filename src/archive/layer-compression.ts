/**
 * Legacy `docker save` layers are uncompressed tars; registries get them gzip'd. The gzip is
 * deterministic — a level chosen from the layer's own first bytes, and Node's zlib writes no name
 * and mtime 0 — so the same layer gives the same digest on every run, and a re-run pushes nothing
 * new. The digest must be known before the upload (it goes in the PUT's query, and in the manifest
 * planned before anything is pushed), so a layer is compressed once, to be measured, and its
 * gzip'd bytes are written on the way to a temporary file the upload reads ({@link LayerSpool}).
 */
import { createHash, type Hash } from 'node:crypto'
import { PassThrough, Transform, type Readable, type TransformCallback, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip, deflateRawSync, type Gzip } from 'node:zlib'
import { FILE_CHUNK } from '../streams.js'

export interface CompressedLayer {
  /** Digest and size of the gzip'd layer, as pushed. */
  digest: string
  size: number
  /** Digest of the uncompressed layer: what the config's `rootfs.diff_ids` lists. */
  diffId: string
  /** The gzip level it was measured with: the upload must use the same. */
  level: number
}

/** zlib's default trade-off, for layers that compress. */
const LEVEL = 6
/** The first bytes judge how well a layer compresses. */
const SAMPLE = 1024 * 1024

/**
 * Content that deflate cannot shrink (already-compressed files, media) is stored in the gzip
 * (level 0): the same bytes, framed, at memory speed instead of ~50 MB/s of futile deflating.
 */
export function chooseLevel(sample: Buffer): number {
  if (sample.length === 0) return LEVEL
  return deflateRawSync(sample, { level: 1 }).length >= sample.length * 0.97 ? 0 : LEVEL
}

/**
 * The output piece size is fixed too: at level 0 it decides where the stored blocks end, so it is
 * part of the digest (at level 6 it is not). {@link FILE_CHUNK} pieces gzip a stored layer four
 * times as fast as zlib's default 16 KiB; layers stored by an older oci-push get new digests once.
 */
export function deterministicGzip(level = LEVEL): Gzip {
  return createGzip({ level, chunkSize: FILE_CHUNK })
}

/**
 * zlib's output can depend on how its input was cut into writes (stored blocks at level 0 do);
 * feeding it pieces of one fixed size gives the same bytes however the layer was read (a plain tar's
 * reads and a gzip'd tar's entries come in different chunks), so every run gives the same digest.
 */
const PIECE = FILE_CHUNK

/** Cuts a stream into {@link PIECE}-byte pieces (the last one shorter). */
export class Pieces extends Transform {
  private held: Buffer[] = []
  private heldSize = 0

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (const piece of this.cut(chunk)) this.push(piece)
    done()
  }

  override _flush(done: TransformCallback): void {
    if (this.heldSize > 0) this.push(Buffer.concat(this.held))
    done()
  }

  /** The whole pieces `chunk` completes; the rest is held. */
  private cut(chunk: Buffer): Buffer[] {
    this.held.push(chunk)
    this.heldSize += chunk.length
    const out: Buffer[] = []
    if (this.heldSize < PIECE) return out
    let all = this.held.length === 1 ? chunk : Buffer.concat(this.held)
    while (all.length >= PIECE) {
      out.push(all.subarray(0, PIECE))
      all = all.subarray(PIECE)
    }
    this.held = all.length > 0 ? [all] : []
    this.heldSize = all.length
    return out
  }
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
  makeGzip?: (level: number) => Gzip
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
 * all on failure. The gzip gets the layer in {@link PIECE}-byte writes, however it was read.
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

/**
 * Compresses `layer` as a stream, for an upload that sends the bytes as they are made (one
 * streamed PATCH): the same level rule and the same bytes as {@link measureCompressed}, the
 * digests taken on the way. `level` repeats the level a first pass chose (a restart, or a read of
 * a layer measured before) instead of judging the sample again.
 */
export interface CompressingOptions {
  makeGzip?: (level: number) => Gzip
  level?: number
  /** Checks the layer once measured, before {@link CompressingLayer.measured} resolves: a throw rejects it (and so the upload's last request). */
  check?: (layer: CompressedLayer) => void
}

export async function compressingLayer(layer: Readable, options: CompressingOptions = {}): Promise<CompressingLayer> {
  const { makeGzip = deterministicGzip } = options
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
  const measured = pipeline(whole(), new Pieces(), makeGzip(level), tally, body).then(
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
