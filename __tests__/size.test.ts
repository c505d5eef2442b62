import { describe, expect, test } from '@jest/globals'
import { smallBlobsAtOnce } from '../src/concurrency.js'
import { connectionsFor } from '../src/registry/registries.js'
import { formatBytes, parseSize, UNLIMITED } from '../src/size.js'
import { checkSizeLimit } from '../src/engine/copy-artifact.js'
import { SizeLimitError } from '../src/errors.js'

describe('parseSize', () => {
  test.each([
    ['0', 0],
    ['1048576', 1048576],
    ['-1', UNLIMITED],
    ['1GiB', 1024 ** 3],
    ['1 GiB', 1024 ** 3],
    ['1gib', 1024 ** 3],
    ['1.5KiB', 1536],
    ['2MiB', 2 * 1024 ** 2],
    ['1TiB', 1024 ** 4],
    ['1KB', 1000],
    ['3MB', 3_000_000],
    ['1GB', 1_000_000_000],
    ['10B', 10],
    [' 5 MiB ', 5 * 1024 ** 2]
  ])('%j -> %d', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes)
  })

  test.each(['', 'abc', '-2', '1 XB', '1.2.3', 'GiB', '99999999999999999999'])('%j is not a size', (text) => {
    expect(parseSize(text)).toBeUndefined()
  })
})

describe('formatBytes', () => {
  test.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [1024 ** 3, '1.0 GiB'],
    [Math.round(6.1 * 1024 ** 3), '6.1 GiB'],
    [5 * 1024 ** 4, '5.0 TiB']
  ])('%d -> %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text)
  })
})

describe('checkSizeLimit', () => {
  test('over the limit: human units and the input to raise', () => {
    expect(() => checkSizeLimit(Math.round(6.1 * 1024 ** 3), 1024 ** 3)).toThrow(
      '6.1 GiB exceeds the limit of 1.0 GiB; raise maxArtifactSize'
    )
  })
  test('0 disables cross-repository copies, whatever the size', () => {
    expect(() => checkSizeLimit(0, 0)).toThrow(SizeLimitError)
    expect(() => checkSizeLimit(10, 0)).toThrow('cross-repository push is disabled')
  })
  test('at the limit, under it, and unlimited pass', () => {
    expect(() => checkSizeLimit(1024, 1024)).not.toThrow()
    expect(() => checkSizeLimit(1, 1024)).not.toThrow()
    expect(() => checkSizeLimit(Number.MAX_SAFE_INTEGER, UNLIMITED)).not.toThrow()
  })
})

describe('connection pool', () => {
  // A streamed copy holds a GET and a PUT at once, possibly on one origin: never fewer than
  // two connections per transfer plus room for manifests, whatever the concurrency.
  test.each([1, 2, 4, 16])('concurrency %i leaves room for every transfer, small blobs too, and a manifest request', (concurrency) => {
    expect(connectionsFor(concurrency)).toBeGreaterThanOrEqual(2 * (concurrency + smallBlobsAtOnce(concurrency)) + 1)
  })

  test.each([1, 4, 8])('%i mirror pairs side by side each get that room', (copies) => {
    expect(connectionsFor(8, copies)).toBeGreaterThanOrEqual(copies * 2 * (8 + smallBlobsAtOnce(8)) + 1)
  })
})
