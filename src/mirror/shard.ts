/**
 * The `shard` input, `i/n`: a job matrix splits a mirror run so that every (source tag,
 * destination) pair is copied by exactly one job. The pair's shard is a pure function of the pair
 * — no state, no listing order — so it is the same on every run, runner and machine.
 */
import { createHash } from 'node:crypto'
import { InputError } from '../errors.js'
import { formatReference, repositoryName, type Reference } from '../reference.js'

/** Shard `index` of `count`, `index` counted from 0 as `strategy.job-index` counts. */
export interface Shard {
  index: number
  count: number
}

/** More than GitHub's 256 jobs per matrix, for runs split over several workflows. */
export const MAX_SHARDS = 10_000

const SHARD = /^(\d+)\s*\/\s*(\d+)$/

/** Parses `i/n`; undefined when the input is empty (no sharding). */
export function parseShard(text: string): Shard | undefined {
  const value = text.trim()
  if (value === '') return undefined
  const match = SHARD.exec(value)
  if (!match) {
    throw new InputError('shard', `"${value}" is not i/n: write e.g. \${{ strategy.job-index }}/\${{ strategy.job-total }}`)
  }
  const index = Number(match[1])
  const count = Number(match[2])
  if (count < 1 || count > MAX_SHARDS) throw new InputError('shard', `"${value}": the count n must be from 1 to ${MAX_SHARDS}`)
  if (index >= count)
    throw new InputError('shard', `"${value}": the index i must be from 0 to n-1 (${count - 1}), as strategy.job-index counts`)
  return { index, count }
}

/**
 * The text a pair is hashed by: the source with its tag and/or digest, a space, the destination
 * repository — both normalised (`nginx` is `docker.io/library/nginx`), without `oci://`.
 */
export function shardKey(source: Reference, destination: Reference): string {
  if (!source.tag && !source.digest) throw new Error(`shardKey: the source ${repositoryName(source)} names no tag or digest`)
  return `${formatReference(source)} ${repositoryName(destination)}`
}

/** SHA-256 of the key (UTF-8), its first 8 bytes as a big-endian unsigned integer, modulo `count`. */
export function shardOf(key: string, count: number): number {
  const hash = createHash('sha256').update(key, 'utf8').digest()
  return Number(hash.readBigUInt64BE(0) % BigInt(count))
}

/** Whether this job copies the pair: always when not sharded. */
export function inShard(shard: Shard | undefined, source: Reference, destination: Reference): boolean {
  return shard === undefined || shardOf(shardKey(source, destination), shard.count) === shard.index
}
