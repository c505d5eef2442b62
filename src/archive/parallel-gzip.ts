/**
 * Gzip on every core, with the same bytes as on one. The input is cut into {@link GZIP_BLOCK}-byte
 * blocks; each is raw-deflated on its own (on libuv's thread pool, where Node's async zlib runs)
 * with the previous block's last 16 KiB (its window) as its preset dictionary, and ends with a sync flush, so the
 * blocks are byte-aligned and follow one another as one deflate stream (RFC 1951 §3.2.3: a block
 * that is not final is simply followed by the next). The CRC-32 is taken over the input in order;
 * the gzip member (RFC 1952 §2.3) is a fixed header, the blocks, an empty final block and the
 * trailer. This is the scheme of pigz and of pgzip (which skopeo uses). A block's bytes depend only
 * on its own input, the 16 KiB before it and the level, never on how the input was read, how many
 * blocks run at once or how many threads the pool has, so a layer gets the same digest every time.
 * (They do depend on the zlib Node bundles: Node 20.20 and 24.21 gave the same bytes on 600 MB of
 * binaries and text. They are not the bytes `createGzip` writes, so a layer gzip'd before gets a
 * new digest once.)
 *
 * It imports nothing but Node's own modules, so a test can run it, transpiled alone, in a child
 * process with another thread pool.
 */
import { availableParallelism } from 'node:os'
import { Transform, type TransformCallback } from 'node:stream'
// A namespace import: Node 20 before 20.15 has no `crc32` export, which a named import would need to start.
import * as zlib from 'node:zlib'

/** Input bytes per block: pgzip's default, big enough that starting each from a dictionary costs little ratio. */
export const GZIP_BLOCK = 1024 * 1024

export interface ParallelGzipOptions {
  /** 0 (stored) to 9, as zlib's. */
  level: number
  /** blocks being deflated at once; default: enough to keep the thread pool busy */
  inFlight?: number
}

/**
 * How each block is deflated, chosen by measurement on a save of real files (`/usr/bin`, locales,
 * docs; docs/performance.md, issue 25): level 1 with zlib's largest hash table (`memLevel` 9: the
 * same bytes out, 10% less time than the default 8, for 128 KiB more per block in flight) and a
 * 16 KiB window (`windowBits` 14: 10% less time again, 1.2% larger). Any inflater reads a stream
 * made with a smaller window. The level comes from the caller; these two are part of the digest.
 */
const MEM_LEVEL = 9
const WINDOW_BITS = 14
/** Deflate's window: a block can refer back this far, so this much of the previous block is its dictionary. */
const WINDOW = 2 ** WINDOW_BITS
/** The most a stored block holds (its LEN is 16 bits, RFC 1951 §3.2.4). */
const STORED_MAX = 65535
/** Room for a whole block's output in one piece: stored blocks add 5 bytes per 16 KiB at worst. */
const OUT_CHUNK = GZIP_BLOCK + 64 * 1024

/**
 * A Transform: any chunking of the same input gives the same gzip bytes, whatever inFlight or
 * UV_THREADPOOL_SIZE. It keeps views of the buffers written to it (a block being deflated, the
 * next block's dictionary) after their write has returned: a writer must not reuse them (file
 * read streams and zlib's output never do).
 */
export function createParallelGzip(options: ParallelGzipOptions): Transform {
  const { level, inFlight = defaultInFlight() } = options
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`gzip level must be 0 to 9, not ${level}`)
  if (!Number.isInteger(inFlight) || inFlight < 1) throw new RangeError(`inFlight must be a whole number from 1, not ${inFlight}`)
  return new ParallelGzip(level, inFlight)
}

/**
 * One more block than the pool has threads (at most two per core: more deflate no faster): when
 * the oldest block is done and pushed, the next is already queued, so no thread waits for the main
 * thread. On 2 cores the pool's default 4 threads with 5 blocks out took 3.50–3.74 s for the bench's
 * real-files save, 3 blocks out 3.69–3.92 s, 8 no better. More only holds more memory (each block
 * in flight holds its input, its output and zlib's ~320 KiB of state).
 */
function defaultInFlight(): number {
  return DEFLATING_AT_MOST
}

const DEFLATING_AT_MOST = Math.min(poolThreads(), 2 * availableParallelism()) + 1

function poolThreads(): number {
  const threads = Number(process.env.UV_THREADPOOL_SIZE)
  return Number.isInteger(threads) && threads > 0 ? Math.min(threads, 1024) : 4
}

/**
 * Blocks being deflated in the whole process, whichever stream they are from: several layers
 * compressed at once share the pool, and their memory is bounded together. Released when a
 * block's deflate ends, never by a reader, so no stream waits on another's reader.
 */
let deflating = 0
const waitingToDeflate: Array<() => void> = []

async function deflateSlot(): Promise<void> {
  if (deflating < DEFLATING_AT_MOST) {
    deflating++
    return
  }
  // Handed over by the block that ends: `deflating` stays as it is.
  await new Promise<void>((resolve) => waitingToDeflate.push(resolve))
}

function deflateDone(): void {
  const next = waitingToDeflate.shift()
  if (next) next()
  else deflating--
}

/** A block handed to the pool: its output (or zlib's error) once ready, read at once when it is. */
interface Job {
  result: Promise<Buffer | Error>
  outcome?: Buffer | Error
}

class ParallelGzip extends Transform {
  private readonly held: Buffer[] = []
  private heldSize = 0
  /** Oldest first: output is pushed in input order. */
  private readonly jobs: Job[] = []
  /** The last {@link WINDOW} bytes of the previous block: the next one's dictionary. */
  private tail: Buffer | undefined
  private crc = 0
  private size = 0

  constructor(
    private readonly level: number,
    private readonly inFlight: number
  ) {
    // A whole block may wait here while the pool is busy, so the reader keeps a block ahead.
    super({ writableHighWaterMark: GZIP_BLOCK })
    this.push(gzipHeader(level))
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.held.push(chunk)
    this.heldSize += chunk.length
    settle(this.startWholeBlocks(), done)
  }

  override _flush(done: TransformCallback): void {
    settle(this.finish(), done)
  }

  /**
   * Starts every whole block held, waiting (and pushing) whenever {@link inFlight} are out; then
   * pushes what is ready. The callback of `_transform` waits for this, so no more input is taken
   * while the blocks are all out — and, after a push, Transform waits for the reader too.
   */
  private async startWholeBlocks(): Promise<void> {
    while (this.heldSize >= GZIP_BLOCK && !this.destroyed) {
      await this.makeRoom()
      if (!this.destroyed) this.start(this.takeHeld(GZIP_BLOCK))
    }
    this.pushReady()
  }

  private async finish(): Promise<void> {
    if (this.heldSize > 0) {
      await this.makeRoom()
      if (!this.destroyed) this.start(this.takeHeld(this.heldSize))
    }
    while (this.jobs.length > 0 && !this.destroyed) await this.pushOldest()
    if (!this.destroyed) this.push(gzipTrailer(this.crc, this.size))
  }

  private async makeRoom(): Promise<void> {
    while (this.jobs.length >= this.inFlight && !this.destroyed) await this.pushOldest()
  }

  private async pushOldest(): Promise<void> {
    const job = this.jobs.shift()
    if (job) this.pushOutcome(await job.result)
  }

  /** The blocks already done at the front of the queue, without waiting. */
  private pushReady(): void {
    while (this.jobs[0]?.outcome !== undefined && !this.destroyed) this.pushOutcome(this.jobs.shift()?.outcome)
  }

  private pushOutcome(outcome: Buffer | Error | undefined): void {
    if (outcome instanceof Error) throw outcome
    if (outcome && !this.destroyed) this.push(outcome)
  }

  /** Counts the block into the trailer (in input order, here on the main thread) and hands it out. */
  private start(block: Buffer): void {
    this.crc = crc32(block, this.crc)
    this.size += block.length
    if (this.level === 0) {
      const stored = storedBlocks(block)
      this.jobs.push({ result: Promise.resolve(stored), outcome: stored })
    } else {
      const job: Job = { result: deflateBlock(block, this.tail, this.level) }
      void job.result.then((outcome) => (job.outcome = outcome))
      this.jobs.push(job)
    }
    this.tail = block.subarray(Math.max(0, block.length - WINDOW))
  }

  /** The first `count` held bytes, as one buffer (a view of the chunk when one chunk holds them all). */
  private takeHeld(count: number): Buffer {
    const parts: Buffer[] = []
    let needed = count
    while (needed > 0) {
      const first = this.held[0]
      if (first.length <= needed) {
        parts.push(first)
        this.held.shift()
        needed -= first.length
      } else {
        parts.push(first.subarray(0, needed))
        this.held[0] = first.subarray(needed)
        needed = 0
      }
    }
    this.heldSize -= count
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, count)
  }
}

/** Calls a stream callback once `work` ends: with its error, if any, which destroys the stream. */
function settle(work: Promise<void>, done: TransformCallback): void {
  work.then(
    () => done(),
    (error: Error) => done(error)
  )
}

/**
 * One block deflated on the pool. It never rejects: an error is its result, thrown when its turn
 * to be pushed comes, so the blocks after a failed one cannot leave an unhandled rejection.
 * Without the sync flush zlib would end the stream; with it the output ends byte-aligned with an
 * empty stored block (00 00 FF FF), as the next block's bytes need.
 */
async function deflateBlock(block: Buffer, dictionary: Buffer | undefined, level: number): Promise<Buffer | Error> {
  await deflateSlot()
  return new Promise<Buffer | Error>((resolve) => {
    const options: zlib.ZlibOptions = {
      level,
      memLevel: MEM_LEVEL,
      windowBits: WINDOW_BITS,
      dictionary,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      chunkSize: OUT_CHUNK
    }
    try {
      zlib.deflateRaw(block, options, (error, output) => {
        deflateDone()
        resolve(error ?? output)
      })
    } catch (error) {
      deflateDone()
      resolve(error as Error)
    }
  })
}

/**
 * Level 0 framed here rather than by zlib: the block copied into stored blocks of at most
 * {@link STORED_MAX} bytes, each a 5-byte header (BFINAL 0, BTYPE 00, padding to the byte; LEN and
 * its complement NLEN, little-endian) before its bytes. Faster than a trip through the pool, and
 * fixed by the block alone.
 */
function storedBlocks(block: Buffer): Buffer {
  const count = Math.ceil(block.length / STORED_MAX)
  const out = Buffer.allocUnsafe(block.length + 5 * count)
  let at = 0
  for (let start = 0; start < block.length; start += STORED_MAX) {
    const length = Math.min(STORED_MAX, block.length - start)
    out[at] = 0
    out.writeUInt16LE(length, at + 1)
    out.writeUInt16LE(length ^ 0xffff, at + 3)
    block.copy(out, at + 5, start, start + length)
    at += 5 + length
  }
  return out
}

/**
 * RFC 1952 §2.3: no name, comment or extra field, MTIME 0 (no time: the same bytes on every run).
 * XFL is what zlib writes for the level (4 fastest, 2 slowest). OS is 255, "unknown": these bytes
 * come out the same on every OS, and it is what Go's gzip (so pgzip, skopeo, containerd) writes;
 * Node's own gzip writes its build's zlib OS_CODE (3 on Linux, 19 on macOS, 10 on Windows).
 */
function gzipHeader(level: number): Buffer {
  const xfl = level === 9 ? 2 : level < 2 ? 4 : 0
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255])
}

/** An empty final block with fixed codes (BFINAL 1, BTYPE 01, end-of-block: `03 00`), then CRC-32 and ISIZE (size mod 2^32). */
function gzipTrailer(crc: number, size: number): Buffer {
  const trailer = Buffer.from([3, 0, 0, 0, 0, 0, 0, 0, 0, 0])
  trailer.writeUInt32LE(crc >>> 0, 2)
  trailer.writeUInt32LE(size % 2 ** 32, 6)
  return trailer
}

/** zlib's CRC-32 where Node has it (20.15, 22.2 and later), else {@link tableCrc32}. */
const crc32: (data: Uint8Array, value: number) => number = typeof zlib.crc32 === 'function' ? zlib.crc32 : tableCrc32

let crcTable: Uint32Array | undefined

/** The CRC-32 of RFC 1952 §8, a byte at a time from a 256-entry table: for Node 20 before 20.15. */
function tableCrc32(data: Uint8Array, value: number): number {
  const table = (crcTable ??= makeCrcTable())
  let crc = ~value
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8)
  return ~crc >>> 0
}

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c
  }
  return table
}
