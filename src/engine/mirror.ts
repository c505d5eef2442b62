/**
 * `mirror` (DESIGN §9): many repositories copied by one engine. Each entry's tags are listed and
 * selected, every (source tag, destination) pair of this shard is checked with two HEADs and
 * copied when it is not up to date, a few pairs at once. One failed pair does not stop the others
 * unless `failFast`.
 */
import type { Endpoint } from '../endpoint.js'
import type { Logger } from '../log.js'
import type { MirrorConfig, MirrorEntry } from '../mirror/config.js'
import type { Shard } from '../mirror/shard.js'
import type { RetryPolicy } from '../retry.js'
import type { Opener } from '../storage.js'
import type { Reporter } from './request.js'

export interface MirrorRequest {
  config: MirrorConfig
  /** This job's share of the pairs; every pair when undefined. */
  shard?: Shard
  /** Plan every pair, write nothing. */
  dryRun: boolean
  /** Stop at the first failed pair (the others in flight are aborted). */
  failFast: boolean
  /** Pairs in flight at once (`mirrorConcurrency`, default 4). */
  concurrency: number
  maxArtifactSize: number
  /** Blobs in flight at once within one pair. */
  blobConcurrency?: number
  retry?: RetryPolicy
}

export type MirrorStatus = 'copied' | 'skipped' | 'failed' | 'planned'

/** One (source tag, destination) pair's outcome: the `mirrored` output's objects, plus what the summary shows. */
export interface MirrorRow {
  /** `registry/repository:tag` (or `@digest`) as copied from. */
  source: string
  /** `registry/repository:tag` written (or that would be). */
  destination: string
  /** The digest at the destination (or that would be); empty when the pair failed before knowing it. */
  digest: string
  status: MirrorStatus
  /** Bytes uploaded (copied), or at most to upload (planned). */
  bytes: number
  /** The failure, one line (status `failed`). */
  error?: string
  /** The entry of the config (1-based) the pair comes from. */
  entry: number
  seconds: number
}

export interface MirrorResult {
  rows: MirrorRow[]
  /** Entries that failed before any pair (their tags could not be listed), one line each. */
  entryErrors: Array<{ entry: number; source: string; error: string }>
  shard?: Shard
  seconds: number
}

/** What the mirror needs of a caller: stores, and where each pair reports (a log group per pair). */
export interface MirrorContext {
  opener: Opener<Endpoint>
  logger: Logger
  /** A reporter for one pair's events; called once per pair. */
  reporterFor(pair: { entry: MirrorEntry; source: string; destination: string }): Reporter
}

export function runMirror(request: MirrorRequest, context: MirrorContext): Promise<MirrorResult> {
  void request
  void context
  return Promise.reject(new Error('internal: runMirror is not implemented yet'))
}
