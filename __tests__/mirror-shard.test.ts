import { describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { InputError } from '../src/errors.js'
import { inShard, MAX_SHARDS, parseShard, shardKey, shardOf } from '../src/mirror/shard.js'
import { formatReference, parseReference } from '../src/reference.js'

const DIGEST = `sha256:${'b'.repeat(64)}`

describe('parseShard', () => {
  test.each([
    ['', undefined],
    ['  \n', undefined],
    ['0/1', { index: 0, count: 1 }],
    ['3/4', { index: 3, count: 4 }],
    [' 2 / 7 ', { index: 2, count: 7 }],
    ['255/256', { index: 255, count: 256 }],
    [`${MAX_SHARDS - 1}/${MAX_SHARDS}`, { index: MAX_SHARDS - 1, count: MAX_SHARDS }]
  ])('%j', (text, shard) => {
    expect(parseShard(text)).toEqual(shard)
  })

  const notIN = (v: string) => `shard: "${v}" is not i/n: write e.g. \${{ strategy.job-index }}/\${{ strategy.job-total }}`
  test.each([
    ['x', notIN('x')],
    ['1', notIN('1')],
    ['1/', notIN('1/')],
    ['-1/4', notIN('-1/4')],
    ['1.5/4', notIN('1.5/4')],
    ['0/4/1', notIN('0/4/1')],
    ['4/4', 'shard: "4/4": the index i must be from 0 to n-1 (3), as strategy.job-index counts'],
    ['1/1', 'shard: "1/1": the index i must be from 0 to n-1 (0), as strategy.job-index counts'],
    ['0/0', 'shard: "0/0": the count n must be from 1 to 10000'],
    ['0/10001', 'shard: "0/10001": the count n must be from 1 to 10000']
  ])('%j is an InputError naming shard', (text, message) => {
    let error: unknown
    try {
      parseShard(text)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).input).toBe('shard')
    expect((error as Error).message).toBe(message)
  })
})

describe('shardKey', () => {
  test.each([
    ['nginx:1.27', 'ghcr.io/o/nginx', 'docker.io/library/nginx:1.27 ghcr.io/o/nginx'],
    [
      'oci://registry-1.docker.io/bitnamicharts/redis:19.0.0',
      'oci://ghcr.io/o/redis',
      'docker.io/bitnamicharts/redis:19.0.0 ghcr.io/o/redis'
    ],
    [`a.io/x@${DIGEST}`, 'b.io/x', `a.io/x@${DIGEST} b.io/x`],
    [`a.io/x:1@${DIGEST}`, 'b.io/x', `a.io/x:1@${DIGEST} b.io/x`]
  ])('%s to %s: normalised, without oci://', (source, destination, key) => {
    expect(shardKey(parseReference(source), parseReference(destination))).toBe(key)
  })

  test('a source without tag or digest is a caller mistake', () => {
    expect(() => shardKey(parseReference('a.io/x'), parseReference('b.io/x'))).toThrow('names no tag or digest')
  })
})

describe('shardOf', () => {
  test('SHA-256 of the key, first 8 bytes big-endian, modulo n (pinned: a change would move pairs between jobs)', () => {
    const key = 'docker.io/library/nginx:1.27 ghcr.io/o/nginx'
    const first8 = BigInt(`0x${createHash('sha256').update(key).digest('hex').slice(0, 16)}`)
    for (const n of [1, 2, 7, 256, MAX_SHARDS]) expect(shardOf(key, n)).toBe(Number(first8 % BigInt(n)))
    expect(shardOf(key, 7)).toBe(6)
    expect(shardOf(key, MAX_SHARDS)).toBe(5110)
  })

  const pairs = Array.from({ length: 1000 }, (_, i) => ({
    source: parseReference(`registry.example.com/team${i % 13}/app${i % 37}:v1.${i}.0`),
    destination: parseReference(`ghcr.io/org/mirror/app${i % 37}`)
  }))

  test.each([1, 2, 3, 4, 5, 6, 7])('n = %i: each of 1000 pairs is in exactly one shard, the same on every call, shards balanced', (n) => {
    const assign = () =>
      pairs.map(({ source, destination }) => [...Array(n).keys()].filter((index) => inShard({ index, count: n }, source, destination)))
    const first = assign()
    for (const shards of first) expect(shards).toHaveLength(1)
    // Parsed afresh, so nothing cached on the objects can make the second answer agree.
    const again = pairs.map(({ source, destination }) => shardOf(shardKey(parseReference(formatReference(source)), destination), n))
    expect(again).toEqual(first.map(([shard]) => shard))
    expect(assign()).toEqual(first)
    const sizes = new Array<number>(n).fill(0)
    for (const [shard] of first) sizes[shard]++
    for (const size of sizes) {
      expect(size).toBeGreaterThan((1000 / n) * 0.75)
      expect(size).toBeLessThan((1000 / n) * 1.25)
    }
  })

  test('no shard: every pair is copied', () => {
    expect(pairs.every(({ source, destination }) => inShard(undefined, source, destination))).toBe(true)
  })
})
