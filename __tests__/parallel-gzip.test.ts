/**
 * Parallel gzip: one ordinary gzip stream that any decoder reads back, whose bytes depend on the
 * input and the level only — not on how the input was cut, how many blocks were out at once, or
 * how many threads libuv's pool had — so a layer gets the same digest on every run.
 */
import { describe, expect, jest, test } from '@jest/globals'
import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import * as realZlib from 'node:zlib'
import ts from 'typescript'
import { createParallelGzip, GZIP_BLOCK, type ParallelGzipOptions } from '../src/archive/parallel-gzip.js'
import { fastNoise } from '../testbed/fixtures.js'

const MODULE = new URL('../src/archive/parallel-gzip.ts', import.meta.url)

/** Deterministic text-like bytes (words from a small vocabulary, seeded): compressible, with matches across blocks. */
function words(seed: number, size: number): Buffer {
  const vocabulary = ['layer', 'tar', 'gzip', 'usr', 'bin', 'share', 'doc', 'locale', 'registry', 'manifest', 'blob', 'digest', '\n']
  const out = Buffer.alloc(size)
  let state = seed >>> 0
  let at = 0
  while (at < size) {
    // xorshift32: the same words on every run and every Node.
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    at += out.write(vocabulary[(state >>> 0) % vocabulary.length] + ' ', at)
  }
  return out
}

/** `input` in pieces of the given sizes, repeated until it is all given. */
function chunked(input: Buffer, sizes: number[]): Readable {
  const pieces: Buffer[] = []
  for (let at = 0, i = 0; at < input.length; i++) {
    const size = sizes[i % sizes.length]
    pieces.push(input.subarray(at, at + size))
    at += size
  }
  return Readable.from(pieces, { objectMode: false })
}

async function gzipWith(input: Readable, options: ParallelGzipOptions, make = createParallelGzip): Promise<Buffer> {
  const out: Buffer[] = []
  await pipeline(
    input,
    make(options),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.push(chunk)
        done()
      }
    })
  )
  return Buffer.concat(out)
}

const gzip = (input: Buffer, options: ParallelGzipOptions): Promise<Buffer> => gzipWith(chunked(input, [input.length || 1]), options)

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

describe('round trip', () => {
  const sizes = [0, 1, GZIP_BLOCK - 1, GZIP_BLOCK, GZIP_BLOCK + 1, 5.5 * GZIP_BLOCK]
  test.each([0, 1, 6].flatMap((level) => sizes.map((size) => ({ level, size }))))(
    'level $level, $size bytes: gunzip gives back the input',
    async ({ level, size }) => {
      const input = words(size + level, size)
      const gz = await gzip(input, { level })
      expect(realZlib.gunzipSync(gz).equals(input)).toBe(true)
      if (level > 0 && size > 1000) expect(gz.length).toBeLessThan(size / 3)
    }
  )

  test('incompressible input at level 0 is framed, not grown: 5 bytes per stored block of 64 KiB', async () => {
    const input = fastNoise('stored', 3 * GZIP_BLOCK)
    const gz = await gzip(input, { level: 0 })
    expect(realZlib.gunzipSync(gz).equals(input)).toBe(true)
    // 17 stored blocks per MiB (16 of 65535 bytes and one of 16), the header, the final block and the trailer.
    expect(gz.length).toBe(input.length + 3 * 17 * 5 + 10 + 10)
  })

  test('the known bytes of an empty gzip and of "hello" stored: header fixed (MTIME 0, OS 255), trailer CRC and size', async () => {
    const empty = await gzip(Buffer.alloc(0), { level: 6 })
    expect(empty.toString('hex')).toBe('1f8b08000000000000ff' + '0300' + '00000000' + '00000000')
    const hello = await gzip(Buffer.from('hello'), { level: 0 })
    // XFL 4 (fastest), a stored block (00, LEN 5, NLEN), the bytes, the final block, CRC-32 of "hello", ISIZE 5.
    const crc = Buffer.alloc(4)
    crc.writeUInt32LE(0x3610a686)
    expect(hello.toString('hex')).toBe(
      '1f8b08000000000004ff' + '000500faff' + Buffer.from('hello').toString('hex') + '0300' + crc.toString('hex') + '05000000'
    )
  })

  test('each block has the 16 KiB before it (its window) as its dictionary: a repeated 8 KiB pattern costs what one zlib stream does', async () => {
    const pattern = fastNoise('pattern', 8 * 1024)
    const input = Buffer.concat(Array.from({ length: 4 * 128 }, () => pattern))
    const gz = await gzip(input, { level: 6 })
    expect(realZlib.gunzipSync(gz).equals(input)).toBe(true)
    // Without dictionaries each of the 4 blocks would start with the pattern's 8 KiB as literals (~24 KiB more).
    expect(gz.length).toBeLessThan(realZlib.gzipSync(input, { level: 6, windowBits: 14, memLevel: 9 }).length + 1024)
  })

  test('the system gzip accepts the output (gzip -t) and gives the input back (gzip -dc)', async () => {
    const input = Buffer.concat([words(7, 2 * GZIP_BLOCK + 333), fastNoise('system-gzip', GZIP_BLOCK)])
    for (const level of [0, 1, 6]) {
      const gz = await gzip(input, { level })
      const tested = spawnSync('gzip', ['-t'], { input: gz })
      expect({ level, status: tested.status, stderr: tested.stderr.toString() }).toEqual({ level, status: 0, stderr: '' })
      const decoded = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 * GZIP_BLOCK })
      expect(decoded.status).toBe(0)
      expect(decoded.stdout.equals(input)).toBe(true)
    }
  })
})

describe('deterministic', () => {
  const input = Buffer.concat([words(42, 3 * GZIP_BLOCK + 4321), fastNoise('mixed', GZIP_BLOCK / 2)])

  test.each([0, 1, 6])('level %i: the same bytes however the input is chunked', async (level) => {
    const whole = await gzip(input, { level })
    for (const sizes of [[1000], [GZIP_BLOCK], [3 * GZIP_BLOCK], [GZIP_BLOCK - 1, 2, 65536], [7, 300_001, 1 << 16, 999_999]]) {
      const cut = await gzipWith(chunked(input, sizes), { level })
      expect({ sizes, digest: sha256(cut) }).toEqual({ sizes, digest: sha256(whole) })
    }
  })

  test.each([0, 1, 6])('level %i: the same bytes with 1 or 8 blocks in flight', async (level) => {
    const one = await gzipWith(chunked(input, [65536]), { level, inFlight: 1 })
    const eight = await gzipWith(chunked(input, [65536]), { level, inFlight: 8 })
    expect(sha256(eight)).toBe(sha256(one))
  })

  test('the same bytes in processes whose thread pool has 1 or 4 threads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parallel-gzip-'))
    try {
      // The module imports only Node's own modules: transpiled alone, a plain node runs it.
      const source = await readFile(MODULE, 'utf8')
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
      })
      await writeFile(join(dir, 'parallel-gzip.mjs'), outputText)
      await writeFile(join(dir, 'input'), input)
      await writeFile(join(dir, 'child.mjs'), CHILD)
      const run = async (threads: string): Promise<string> => {
        const env = { ...process.env, NODE_OPTIONS: '', UV_THREADPOOL_SIZE: threads }
        const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'child.mjs'), dir], { env })
        return stdout.trim()
      }
      const [one, four] = [await run('1'), await run('4')]
      expect(one).toMatch(/^[0-9a-f]{64}$/)
      expect(four).toBe(one)
      expect(one).toBe(sha256(await gzip(input, { level: 6 })))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

/** Gzips `<dir>/input` at level 6 with the default blocks in flight (which follow the pool's size), prints the sha256. */
const CHILD = `
import { createReadStream } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { pathToFileURL } from 'node:url'
const dir = process.argv[2]
const { createParallelGzip } = await import(pathToFileURL(join(dir, 'parallel-gzip.mjs')).href)
const hash = createHash('sha256')
await pipeline(createReadStream(join(dir, 'input')), createParallelGzip({ level: 6 }), async (chunks) => {
  for await (const chunk of chunks) hash.update(chunk)
})
console.log(hash.digest('hex'))
`

interface Module {
  createParallelGzip: typeof createParallelGzip
}

/** A fresh copy of the module, seeing `overrides` in place of node:zlib's own. */
async function loadWithZlib(overrides: Record<string, unknown>): Promise<Module> {
  jest.resetModules()
  jest.unstable_mockModule('node:zlib', () => ({ ...realZlib, ...overrides }))
  return import('../src/archive/parallel-gzip.js')
}

describe('without zlib.crc32 (Node 20 before 20.15)', () => {
  test('the table CRC-32 equals zlib.crc32 on random data: the same gzip bytes, a trailer gunzip accepts', async () => {
    const fallback = await loadWithZlib({ crc32: undefined })
    for (const [seed, size] of [
      ['crc-a', 1],
      ['crc-b', 4097],
      ['crc-c', 5.5 * GZIP_BLOCK]
    ] as const) {
      const input = fastNoise(seed, size)
      const gz = await gzipWith(chunked(input, [65536]), { level: 0 }, fallback.createParallelGzip)
      expect(gz.readUInt32LE(gz.length - 8)).toBe(realZlib.crc32(input))
      expect(sha256(gz)).toBe(sha256(await gzip(input, { level: 0 })))
      expect(realZlib.gunzipSync(gz).equals(input)).toBe(true)
    }
  })
})

/** The module with zlib's deflateRaw counted: the most blocks that were being deflated at once. */
async function countingDeflates(): Promise<{ counted: Module; most: () => number }> {
  let running = 0
  let most = 0
  const deflateRaw = (block: Buffer, options: realZlib.ZlibOptions, done: (error: Error | null, out: Buffer) => void): void => {
    most = Math.max(most, ++running)
    realZlib.deflateRaw(block, options, (error, out) => {
      running--
      done(error, out)
    })
  }
  return { counted: await loadWithZlib({ deflateRaw }), most: () => most }
}

describe('bounded and well-behaved', () => {
  test.each([1, 3])('at most inFlight=%i blocks are deflated at once, and that many are', async (inFlight) => {
    const { counted, most } = await countingDeflates()
    const input = words(3, 10 * GZIP_BLOCK)
    const gz = await gzipWith(chunked(input, [4 * GZIP_BLOCK]), { level: 1, inFlight }, counted.createParallelGzip)
    expect(realZlib.gunzipSync(gz).equals(input)).toBe(true)
    // The process-wide bound (the pool, at most two threads per core, plus one) applies too.
    expect(most()).toBe(Math.min(inFlight, Math.min(4, 2 * availableParallelism()) + 1))
  })

  test('several streams at once share one bound: at most the pool (up to two threads per core) plus one blocks deflate in the process', async () => {
    const { counted, most } = await countingDeflates()
    const inputs = [words(5, 6 * GZIP_BLOCK), words(6, 6 * GZIP_BLOCK), words(7, 6 * GZIP_BLOCK)]
    const gzs = await Promise.all(
      inputs.map((input) => gzipWith(chunked(input, [GZIP_BLOCK]), { level: 1, inFlight: 8 }, counted.createParallelGzip))
    )
    gzs.forEach((gz, i) => expect(realZlib.gunzipSync(gz).equals(inputs[i])).toBe(true))
    expect(most()).toBe(Math.min(4, 2 * availableParallelism()) + 1)
  })

  test('takes no more input while its output is not read', async () => {
    let given = 0
    const input = words(11, 32 * GZIP_BLOCK)
    const source = new Readable({
      read() {
        this.push(given < input.length ? input.subarray(given, (given += 65536)) : null)
      }
    })
    const gzip = createParallelGzip({ level: 1, inFlight: 2 })
    source.pipe(gzip)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    // The blocks out, the one held and the writable buffer (a block each), the source's 64 KiB: of 32 MiB offered.
    expect(given).toBeLessThanOrEqual(6 * GZIP_BLOCK)
    const out: Buffer[] = []
    for await (const chunk of gzip) out.push(chunk as Buffer)
    expect(given).toBe(input.length)
    expect(realZlib.gunzipSync(Buffer.concat(out)).equals(input)).toBe(true)
  })

  test('a zlib error fails the pipeline with it: no uncaught error, unhandled rejection or listener warning', async () => {
    let calls = 0
    const deflateRaw = (block: Buffer, options: realZlib.ZlibOptions, done: (error: Error | null, out?: Buffer) => void): void => {
      if (++calls === 3) setImmediate(() => done(new Error('deflate failed on block 3')))
      else realZlib.deflateRaw(block, options, done)
    }
    const failing = await loadWithZlib({ deflateRaw })
    const trouble: unknown[] = []
    const note = (event: unknown): number => trouble.push(event)
    process.on('warning', note).on('unhandledRejection', note)
    try {
      const gzip = failing.createParallelGzip({ level: 6, inFlight: 4 })
      const piped = pipeline(
        chunked(words(5, 12 * GZIP_BLOCK), [GZIP_BLOCK / 4]),
        gzip,
        new Writable({ write: (_chunk, _encoding, done) => done() })
      )
      await expect(piped).rejects.toThrow('deflate failed on block 3')
      expect(gzip.destroyed).toBe(true)
      // The blocks still on the pool come back after the failure; nothing may throw when they do.
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(trouble).toEqual([])
    } finally {
      process.off('warning', note).off('unhandledRejection', note)
    }
  })

  test('destroyed while blocks are out: nothing is pushed after, nothing thrown', async () => {
    const gzip = createParallelGzip({ level: 6, inFlight: 2 })
    const pushed: Buffer[] = []
    gzip.on('data', (chunk: Buffer) => pushed.push(chunk))
    // Two blocks out and the third waiting for the first when the stream is destroyed.
    gzip.write(words(9, 8 * GZIP_BLOCK))
    await new Promise((resolve) => setImmediate(resolve))
    const before = pushed.length
    gzip.destroy()
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(pushed.length).toBe(before)
    expect(gzip.destroyed).toBe(true)
  })

  test.each([{ level: 10 }, { level: -1 }, { level: 1.5 }, { level: 6, inFlight: 0 }])('refuses %p', (options) => {
    expect(() => createParallelGzip(options)).toThrow(RangeError)
  })
})
