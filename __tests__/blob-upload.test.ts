/** How a blob's bytes move (blob-upload.ts): when a failed push starts over from the source, and what a restart and a mismatch look like. */
import { describe, expect, test } from '@jest/globals'
import { restartRule, uploadBlob } from '../src/engine/blob-upload.js'
import { ConnectionError, markRetried, RegistryError, SourceError } from '../src/errors.js'
import { silentLogger } from '../src/log.js'
import { DEFAULT_RETRY, type RetryPolicy } from '../src/retry.js'
import { makeBlob } from '../testbed/fixtures.js'
import { blobCopy } from './helpers/blob-copy.js'
import { MemoryStore } from './helpers/memory-store.js'

const rule = (logger = silentLogger) => restartRule({ what: 'sha256:a', from: 'the source', logger, signal: new AbortController().signal })
const registry = (status: number, retryAfterMs?: number) => new RegistryError('upload blob', 'r/a', status, [], undefined, retryAfterMs)
const retried = <E>(error: E): E => {
  markRetried(error)
  return error
}

describe('restartRule', () => {
  test.each<[string, boolean, unknown]>([
    ['a 503', true, registry(503)],
    ['a 503 the client has retried already', false, retried(registry(503))],
    ['a reset', true, new ConnectionError('upload blob', 'https://r', 'reset', undefined, 'ECONNRESET')],
    ['a source cut short', true, new SourceError('src@sha256:a', 'aborted')],
    ['a 404', false, registry(404)],
    ['a plain error', false, new Error('bug')],
    ['a 401 the client has retried already', false, retried(registry(401))]
  ])('%s: restarted %s', (_, restarted, error) => {
    expect(rule().retryable(error)).toBe(restarted)
  })

  test('a token that expired mid-push: once, at once', () => {
    const once = rule()
    expect(once.retryable(registry(401))).toBe(true)
    expect(once.retryAfterMs?.(registry(401))).toBe(0)
    expect(once.retryable(registry(401))).toBe(false)
  })

  test("the registry's Retry-After is waited; the default policy unless told; streaming time not counted", () => {
    expect(rule().retryAfterMs?.(registry(429, 1500))).toBe(1500)
    expect(rule().retryAfterMs?.(new Error('x'))).toBeUndefined()
    expect(rule().policy).toBe(DEFAULT_RETRY)
    expect(rule().countTries).toBe(false)
  })

  test('each restart is logged: what goes again, from where, when', () => {
    const lines: string[] = []
    rule({ ...silentLogger, info: (line) => lines.push(line) }).onRetry(registry(503), 1200, 2)
    expect(lines).toEqual([expect.stringMatching(/; uploading sha256:a again from the source in 1\.2 s \(2 of 5\)$/)])
  })
})

describe('uploadBlob', () => {
  const blob = makeBlob('application/octet-stream', Buffer.from('layer bytes'))
  const quick: RetryPolicy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1, totalMs: 1000, retryAfterCapMs: 1 }
  const sourceOf = (bytes: Buffer) => {
    const source = new MemoryStore('src')
    source.blobs.set(blob.digest, bytes)
    return source
  }

  test('a push that breaks after reading everything starts over from the source, its progress from 0', async () => {
    const source = sourceOf(blob.bytes)
    const target = new MemoryStore('dst')
    const push = target.pushBlob.bind(target)
    let tries = 0
    target.pushBlob = async (descriptor, open) => {
      if (++tries > 1) return push(descriptor, open)
      for await (const chunk of await open()) void chunk
      throw registry(503)
    }
    const { copy, events } = blobCopy(source, target, { retry: quick })
    await uploadBlob(blob, copy)
    expect(source.calls).toEqual([`fetchBlob ${blob.digest}`, `fetchBlob ${blob.digest}`])
    const shown = events.map((e) => (e.type === 'blob-progress' ? `progress ${e.done}` : e.type))
    expect(shown).toEqual(['blob-started', `progress ${blob.size}`, 'blob-started', `progress ${blob.size}`])
    expect(target.blobs.get(blob.digest)).toEqual(blob.bytes)
  })

  test("bytes that are not what the digest says: the source's blob named, not tried again", async () => {
    const source = sourceOf(Buffer.from('LAYER BYTES'))
    const { copy } = blobCopy(source, new MemoryStore('dst'), { retry: quick })
    await expect(uploadBlob(blob, copy)).rejects.toThrow(`src@${blob.digest}: blob content has digest`)
    expect(source.calls).toHaveLength(1)
  })
})
