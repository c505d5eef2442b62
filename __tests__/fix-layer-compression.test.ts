/**
 * Measuring a legacy docker-save layer through gzip: a zlib failure at any moment is the
 * measure's rejection, never an uncaught 'error' event that would end the process.
 */
import { describe, expect, test } from '@jest/globals'
import { Readable, Writable, type Transform } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import { layerGzip, measureCompressed } from '../src/archive/layer-compression.js'
import { sha256 } from '../src/digest.js'
import { fastNoise } from '../testbed/fixtures.js'

const MiB = 1024 * 1024

/**
 * A layer that hands out `chunks` one per read and, when the second is asked for (the measure
 * has written the first and waits on the layer, not on the gzip), breaks the gzip first.
 */
function layerBreaking(chunks: Buffer[], gzip: () => Transform | undefined): Readable {
  let reads = 0
  return new Readable({
    highWaterMark: 0,
    read() {
      reads++
      if (reads === 2) gzip()?.destroy(new Error('zlib failed between two writes'))
      // The gzip's 'error' event goes out before the next chunk comes.
      setImmediate(() => this.push(chunks[reads - 1] ?? null))
    }
  })
}

describe('measuring a layer through gzip', () => {
  // The error once escaped and the measure never settled: a short timeout, not jest's two minutes.
  test('a zlib error between two writes rejects the measure (no uncaught error event)', async () => {
    let made: Transform | undefined
    const makeGzip = (level: number) => (made = layerGzip(level))
    const layer = layerBreaking([fastNoise('break-1', 2 * MiB), fastNoise('break-2', MiB)], () => made)
    await expect(measureCompressed(layer, { makeGzip })).rejects.toThrow('zlib failed between two writes')
    expect(made?.destroyed).toBe(true)
    expect(layer.destroyed).toBe(true)
  }, 10_000)

  test.each([
    ['empty', Buffer.alloc(0), 1],
    ['a short text', Buffer.from('a line\n'.repeat(100)), 1],
    ['2 MiB that do not compress', fastNoise('measure-noise', 2 * MiB + 17), 0]
  ])('%s: the bytes written are the ones measured, the same however the layer is cut', async (_name, bytes, level) => {
    const cuts = [bytes.subarray(0, 1000), bytes.subarray(1000, 700_001), bytes.subarray(700_001)].filter((p) => p.length > 0)
    const written: Buffer[] = []
    const output = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written.push(chunk)
        done()
      }
    })
    const measured = await measureCompressed(Readable.from(cuts), { output })
    const gzipped = Buffer.concat(written)
    expect(measured).toEqual({ digest: sha256(gzipped), size: gzipped.length, diffId: sha256(bytes), level })
    expect(gunzipSync(gzipped).equals(bytes)).toBe(true)
    // The same layer in one piece: the same gzip, byte for byte (a re-run reads it in other chunks).
    expect(gzipped.equals(await gzipWhole(bytes, level))).toBe(true)
    expect(await measureCompressed(Readable.from(bytes.length > 0 ? [bytes] : []))).toEqual(measured)
  })
})

/** The layer gzip'd in one write, at `level`. */
async function gzipWhole(bytes: Buffer, level: number): Promise<Buffer> {
  const gzip = Readable.from(bytes.length > 0 ? [bytes] : []).pipe(layerGzip(level))
  const chunks: Buffer[] = []
  for await (const chunk of gzip) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

describe('the level is judged from the first MiB exactly', () => {
  test('a layer whose first MiB does not compress is stored, however it is read (one 2 MiB chunk, or 64 KiB reads)', async () => {
    const MiB = 1024 * 1024
    // Noise, then text: the first MiB alone does not compress; the first 2 MiB would.
    const layer = Buffer.concat([
      fastNoise('level-sample', MiB),
      Buffer.from('text that deflate shrinks\n'.repeat(Math.ceil(MiB / 26))).subarray(0, MiB)
    ])
    const whole = await measureCompressed(Readable.from([layer]))
    const pieces: Buffer[] = []
    for (let at = 0; at < layer.length; at += 64 * 1024) pieces.push(layer.subarray(at, at + 64 * 1024))
    const read = await measureCompressed(Readable.from(pieces))
    expect(read.level).toBe(0)
    expect(whole).toEqual(read)
  })
})
