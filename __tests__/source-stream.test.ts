/** The source's bytes as every target gets them (source-stream.ts): verified, errors named, progress every few MiB. */
import { describe, expect, test } from '@jest/globals'
import { PassThrough, Readable } from 'node:stream'
import { DigestMismatchError } from '../src/digest.js'
import type { ProgressEvent } from '../src/engine/events.js'
import { progressEvents, PROGRESS_STEP, verifiedSourceStream } from '../src/engine/source-stream.js'
import { FileSystemError, SourceError } from '../src/errors.js'
import { makeBlob } from '../testbed/fixtures.js'

const bytes = Buffer.from('layer bytes')
const blob = makeBlob('application/octet-stream', bytes)
const options = (digest = true) => ({ reference: 'src@' + blob.digest, digest, onProgress: () => {} })

async function read(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

describe('verifiedSourceStream', () => {
  test('the bytes as they are, when they match', async () => {
    await expect(read(verifiedSourceStream(Readable.from([bytes]), blob, options()))).resolves.toEqual(bytes)
  })

  test.each([
    ['other bytes of the same size, hashed here', Buffer.from('LAYER BYTES'), true, DigestMismatchError],
    ['more bytes than the descriptor, digest left to the target', Buffer.from('layer bytes!'), false, DigestMismatchError]
  ])('%s: refused', async (_, given, digest, kind) => {
    await expect(read(verifiedSourceStream(Readable.from([given]), blob, options(digest)))).rejects.toBeInstanceOf(kind)
  })

  test('other bytes of the same size pass when the target checks the digest itself', async () => {
    await expect(read(verifiedSourceStream(Readable.from([Buffer.from('LAYER BYTES')]), blob, options(false)))).resolves.toHaveLength(
      bytes.length
    )
  })

  test("a download that breaks is the source's error, naming the blob", async () => {
    const download = new PassThrough()
    const verified = verifiedSourceStream(download, blob, options())
    download.destroy(new Error('socket hang up'))
    await expect(read(verified)).rejects.toThrow(new SourceError(`src@${blob.digest}`, 'socket hang up').message)
  })

  test('a file the source cannot read keeps its own error', async () => {
    const download = new PassThrough()
    const verified = verifiedSourceStream(download, blob, options())
    const unreadable = new FileSystemError('read the layout', '/tmp/l', 'EACCES', 'permission denied')
    download.destroy(unreadable)
    await expect(read(verified)).rejects.toBe(unreadable)
  })

  test('a download fetched ahead that broke, or was closed, before anyone read it fails at once', async () => {
    const broken = new PassThrough()
    broken.on('error', () => {})
    broken.destroy(new Error('reset'))
    await new Promise((resolve) => setImmediate(resolve))
    await expect(read(verifiedSourceStream(broken, blob, options()))).rejects.toBeInstanceOf(SourceError)
    const closed = new PassThrough()
    closed.destroy()
    await new Promise((resolve) => setImmediate(resolve))
    await expect(read(verifiedSourceStream(closed, blob, options()))).rejects.toThrow('the download was closed before its end')
  })
})

describe('progressEvents', () => {
  test.each([
    ['a small blob: at its end only', 1000, [10, 500, 1000], [1000]],
    [
      'a large blob: every step and at the end',
      2 * PROGRESS_STEP + 7,
      [1, PROGRESS_STEP, PROGRESS_STEP + 1, 2 * PROGRESS_STEP + 7],
      [PROGRESS_STEP, 2 * PROGRESS_STEP + 7]
    ]
  ])('%s', (_, size, counts, told) => {
    const events: ProgressEvent[] = []
    const progress = progressEvents({ mediaType: 'x', digest: 'sha256:a', size }, 'dst', (event) => events.push(event))
    for (const count of counts) progress(count)
    expect(events).toEqual(told.map((done) => ({ type: 'blob-progress', target: 'dst', digest: 'sha256:a', done, size })))
  })
})
