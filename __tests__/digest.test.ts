import { describe, expect, test } from '@jest/globals'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { DigestMismatchError, isDigest, sha256, VerifyingStream } from '../src/digest.js'

async function drain(data: Buffer[], expected: { digest: string; size: number }): Promise<number> {
  let seen = 0
  await pipeline(
    Readable.from(data),
    new VerifyingStream(expected),
    new Writable({
      write(chunk: Buffer, _e, done) {
        seen += chunk.length
        done()
      }
    })
  )
  return seen
}

describe('VerifyingStream', () => {
  const content = Buffer.from('hello, registry')
  const good = { digest: sha256(content), size: content.length }

  test('passes the bytes through when digest and size match', async () => {
    expect(await drain([content.subarray(0, 5), content.subarray(5)], good)).toBe(content.length)
  })
  test('fails on other bytes of the same size', async () => {
    await expect(drain([Buffer.from('hello, REGISTRY')], good)).rejects.toThrow(DigestMismatchError)
  })
  test('fails on fewer bytes', async () => {
    await expect(drain([content.subarray(0, 3)], good)).rejects.toThrow(/expected sha256/)
  })
  test('fails as soon as there are more bytes than the size', async () => {
    await expect(drain([content, content], good)).rejects.toThrow(/longer than the 15 bytes/)
  })
})

test.each([
  [`sha256:${'a'.repeat(64)}`, true],
  [`sha512:${'a'.repeat(128)}`, true],
  [`sha256:${'A'.repeat(64)}`, false],
  [`sha256:${'a'.repeat(63)}`, false],
  ['sha256:', false],
  [`md5:${'a'.repeat(32)}`, false]
])('isDigest(%s) = %s', (text, expected) => {
  expect(isDigest(text)).toBe(expected)
})
