/**
 * Legacy `docker save` layers are uncompressed tars; registries get them gzip'd. The gzip is
 * deterministic — a level chosen from the layer's own first bytes, and Node's zlib writes no name
 * and mtime 0 — so the same layer gives the same digest on every run, and a re-run pushes nothing
 * new. The digest must be known before the upload (it goes in the PUT's query), so a layer is
 * compressed twice: once to measure (nothing stored), once on its way up.
 */
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { createGzip, deflateRawSync, type Gzip } from 'node:zlib'

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

export function deterministicGzip(level = LEVEL): Gzip {
  return createGzip({ level })
}

/**
 * zlib's output can depend on how its input was cut into writes (stored blocks at level 0 do);
 * feeding it pieces of one fixed size makes both passes give the same bytes.
 */
const PIECE = 64 * 1024

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
  cut(chunk: Buffer): Buffer[] {
    this.held.push(chunk)
    this.heldSize += chunk.length
    const out: Buffer[] = []
    if (this.heldSize < PIECE) return out
    let all = Buffer.concat(this.held)
    while (all.length >= PIECE) {
      out.push(all.subarray(0, PIECE))
      all = all.subarray(PIECE)
    }
    this.held = all.length > 0 ? [all] : []
    this.heldSize = all.length
    return out
  }

  /** What is left, for callers feeding by hand. */
  remainder(): Buffer {
    const rest = Buffer.concat(this.held)
    this.held = []
    this.heldSize = 0
    return rest
  }
}

/** The upload pass: the layer cut into pieces and gzip'd at the level it was measured with. */
export function compressLayer(layer: Readable, level: number): Readable {
  const pieces = new Pieces()
  const gzip = deterministicGzip(level)
  layer.on('error', (error) => gzip.destroy(error))
  pieces.on('error', (error) => gzip.destroy(error))
  return layer.pipe(pieces).pipe(gzip)
}

/** Compresses `layer` without keeping anything: the digests, size and level it will have. */
export async function measureCompressed(layer: Readable): Promise<CompressedLayer> {
  const raw = createHash('sha256')
  const compressed = createHash('sha256')
  let size = 0
  let gzip: Gzip | undefined
  let level = LEVEL
  let sample: Buffer[] = []
  let sampled = 0
  const pieces = new Pieces()
  const feed = async (chunk: Buffer): Promise<void> => {
    for (const piece of pieces.cut(chunk)) await write(gzip as Gzip, piece)
  }
  const start = async (first: Buffer): Promise<void> => {
    level = chooseLevel(first)
    gzip = deterministicGzip(level)
    gzip.on('data', (chunk: Buffer) => {
      compressed.update(chunk)
      size += chunk.length
    })
    await feed(first)
  }
  for await (const chunk of layer) {
    raw.update(chunk as Buffer)
    if (gzip) {
      await feed(chunk as Buffer)
      continue
    }
    sample.push(chunk as Buffer)
    sampled += (chunk as Buffer).length
    if (sampled >= SAMPLE) {
      await start(Buffer.concat(sample))
      sample = []
    }
  }
  if (!gzip) await start(Buffer.concat(sample))
  const done = gzip as Gzip
  const rest = pieces.remainder()
  if (rest.length > 0) await write(done, rest)
  const ended = once(done, 'end')
  done.end()
  await ended
  return { digest: `sha256:${compressed.digest('hex')}`, size, diffId: `sha256:${raw.digest('hex')}`, level }
}

/**
 * Writes a piece and waits out zlib's backpressure. `events.once` removes both its listeners
 * (`drain`, `error`) whichever fires: a layer waits thousands of times, and a listener left per
 * wait would pile up on the stream (Node's MaxListenersExceededWarning).
 */
async function write(gzip: Gzip, chunk: Buffer): Promise<void> {
  if (!gzip.write(chunk)) await once(gzip, 'drain')
}
