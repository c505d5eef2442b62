/**
 * `mirror` (DESIGN §9): many repositories copied by one engine. Each entry's tags are listed and
 * selected, every (source tag, destination) pair of this shard is checked with two HEADs, many
 * pairs at once, and copied when it is not up to date, a few pairs at once. One failed pair does
 * not stop the others unless `failFast`.
 */
import { forEachLimit, InTurn, Slots } from '../concurrency.js'
import { atTag, type Endpoint } from '../endpoint.js'
import { shown } from '../escape.js'
import type { Logger } from '../log.js'
import type { MirrorConfig, MirrorEntry } from '../mirror/config.js'
import { inShard, type Shard } from '../mirror/shard.js'
import { selectTags } from '../mirror/tags.js'
import { formatReference, repositoryName, type Reference } from '../reference.js'
import type { RetryPolicy } from '../retry.js'
import { isManifestResolver, isTagLister, isWarmable, type Opener, type TagList } from '../storage.js'
import { BlobLocator } from './blob-locator.js'
import { copyReferrersOf, executePlan } from './execute.js'
import { fetchRoot } from './graph.js'
import { choosePlatforms } from './platform-filter.js'
import { planCopy } from './plan.js'
import type { CopyRequest, Reporter } from './request.js'
import { tokenMessage } from '../words.js'

export interface MirrorRequest {
  config: MirrorConfig
  /** This job's share of the pairs; every pair when undefined. */
  shard?: Shard
  /** Plan every pair, write nothing. */
  dryRun: boolean
  /** Stop at the first failed pair: no copy starts after it (those in flight finish, and checks under way end). */
  failFast: boolean
  /** Pairs copied at once (`mirrorConcurrency`, default 4); up-to-date checks are not bounded by it. */
  concurrency: number
  maxArtifactSize: number
  /** Blobs in flight at once within one pair. */
  blobConcurrency?: number
  retry?: RetryPolicy
  /**
   * One archive file (`bundle`) every pair is written into instead of its registry: each image
   * named by its pair's destination (the source's name unless the entry gives one).
   */
  bundle?: Endpoint
}

/** `referrers`: the tag was up to date and only referrers (signatures, SBOMs) added upstream since moved. */
export type MirrorStatus = 'copied' | 'skipped' | 'referrers' | 'failed' | 'planned' | 'not-started'

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
  /** Entries a failFast run stopped before their tags were listed (their pairs unknown). */
  entriesNotStarted?: number[]
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

/** A row as the `mirrored` output (and the CLI's `--json`) gives it. */
export type MirroredObject = Pick<MirrorRow, 'source' | 'destination' | 'digest' | 'status' | 'bytes' | 'error'>

/** A row as the `mirrored` output (and the CLI's `--json`) gives it: these five keys, and `error` on a failed row. */
export function mirroredObject({ source, destination, digest, status, bytes, error }: MirrorRow): MirroredObject {
  return { source, destination, digest, status, bytes, ...(status === 'failed' && error !== undefined ? { error } : {}) }
}

/**
 * Every row of a run, entries whose tags could not be read included (as failed rows from the
 * source repository to the destination repository), so a reader of `mirrored` sees every failure.
 */
export function resultRows(result: MirrorResult, config: MirrorConfig): MirrorRow[] {
  // An entry whose tags were not read is one row, from its source repository to its destination.
  const entryRow = (entry: number, status: MirrorStatus, error?: string): MirrorRow => {
    const { source, destination } = config.entries[entry - 1]
    return {
      source: formatReference(source),
      destination: formatReference(destination),
      digest: '',
      status,
      bytes: 0,
      ...(error !== undefined ? { error } : {}),
      entry,
      seconds: 0
    }
  }
  const failedEntries = result.entryErrors.map(({ entry, error }) => entryRow(entry, 'failed', error))
  const unlisted = (result.entriesNotStarted ?? []).map((entry) => entryRow(entry, 'not-started'))
  return [...failedEntries, ...result.rows, ...unlisted]
}

/**
 * Pairs whose up-to-date check (two manifest HEADs, DESIGN §9) is in flight at once, whatever
 * `mirrorConcurrency` is: a re-run of what is up to date is all HEADs, and at a distance each
 * wave of them costs a round trip. 128 pairs are 128 HEADs per registry when source and
 * destination differ, inside the pool of the default `mirrorConcurrency` (`connectionsFor`: 322
 * connections per origin); a smaller pool queues the rest, and HEADs are short, so nothing
 * waits long. Measured on 1,000 tags in 4 shards at +500 ms per request: 64 at once took 4.5
 * round trips per shard, 128 took 2.6 (docs/performance.md).
 */
export const CHECKS_AT_ONCE = 128

/** One (source tag, destination) pair of an entry. */
interface Pair {
  entry: MirrorEntry
  source: Reference
  destination: Reference
}

export async function runMirror(request: MirrorRequest, context: MirrorContext): Promise<MirrorResult> {
  const started = Date.now()
  const entryErrors: MirrorResult['entryErrors'] = []
  const stop = { stopped: false }
  const pairsOfEntries: Pair[][] = request.config.entries.map(() => [])
  const entriesNotStarted: number[] = []
  await forEachLimit(request.config.entries, request.concurrency, async (entry) => {
    if (stop.stopped) {
      entriesNotStarted.push(entry.index)
      return
    }
    // Its pairs' checks ask the destination first: its registry's ping goes out with the tag list.
    if (!request.bundle) warmDestination(context, entry)
    try {
      pairsOfEntries[entry.index - 1] = await pairsOf(entry, request.shard, context)
    } catch (error) {
      entryErrors.push({ entry: entry.index, source: formatReference(entry.source), error: messageOf(error) })
      if (request.failFast) stop.stopped = true
    }
  })
  const pairs = pairsOfEntries.flat()
  const rows: Array<MirrorRow | undefined> = pairs.map(() => undefined)
  const run: PairRun = { request, context, locator: new BlobLocator(), copies: new Slots(request.concurrency), turns: new InTurn(), stop }
  // Checks run CHECKS_AT_ONCE pairs ahead; each pair that needs a copy then waits for one of
  // `concurrency` copy slots, still holding its place here, so checks never run far ahead of copies.
  await forEachLimit(
    pairs.map((pair, i) => ({ pair, i })),
    Math.max(CHECKS_AT_ONCE, request.concurrency),
    async ({ pair, i }) => {
      try {
        if (stop.stopped) return
        rows[i] = await mirrorPair(pair, i, run)
        stopsRun(rows[i], run)
      } finally {
        run.turns.done(i)
      }
    }
  )
  entryErrors.sort((x, y) => x.entry - y.entry)
  return {
    // With failFast, pairs never started are rows too: `mirrored` lists every pair of the shard.
    rows: rows.map((row, i) => row ?? notStarted(pairs[i])),
    entryErrors,
    ...(entriesNotStarted.length > 0 ? { entriesNotStarted: entriesNotStarted.sort((x, y) => x - y) } : {}),
    ...(request.shard ? { shard: request.shard } : {}),
    seconds: (Date.now() - started) / 1000
  }
}

/**
 * The pairs of an entry that belong to this shard: its one reference, its listed tags, or the
 * tags of its source repository that its filters select (the tag list read with `Link` pages).
 */
async function pairsOf(entry: MirrorEntry, shard: Shard | undefined, context: MirrorContext): Promise<Pair[]> {
  const { selection } = entry
  let sources: Reference[]
  if (selection.kind === 'single') sources = [entry.source]
  else if (selection.kind === 'exact') sources = selection.tags.map((tag) => ({ ...entry.source, tag }))
  else {
    const store = await context.opener.source({ kind: 'registry', reference: entry.source })
    if (!isTagLister(store)) throw new Error(`${store.name} cannot list its tags`)
    const listed = await store.listTags()
    if (listed.invalidCount > 0) context.logger.warning(invalidTagsWarning(entry, listed))
    // Filters run over valid tags only: at most 128 characters each, which bounds every pattern's work.
    sources = selectTags(listed.tags, selection).map((tag) => ({ ...entry.source, tag }))
    if (sources.length === 0)
      context.logger.warning(
        `mirror: entry ${entry.index} (${formatReference(entry.source)}) selects none of its ${listed.tags.length} tags`
      )
  }
  return sources
    .map((source) => ({ entry, source, destination: destinationOf(entry.destination, source) }))
    .filter((pair) => inShard(shard, pair.source, pair.destination))
}

/** Starts the first round trip to an entry's destination registry now; a failure there shows on its first real request. */
function warmDestination(context: MirrorContext, entry: MirrorEntry): void {
  void context.opener
    .target({ kind: 'registry', reference: entry.destination })
    .then((target) => (isWarmable(target) ? target.warm() : undefined))
    .catch(() => {})
}

/** One warning per entry for the names its tag list held that are not tags, the first few shown escaped. */
function invalidTagsWarning(entry: MirrorEntry, listed: TagList): string {
  const examples = listed.invalid.map((name) => shown(name, 60)).join(', ')
  const more = listed.invalidCount > listed.invalid.length ? `, and ${listed.invalidCount - listed.invalid.length} more` : ''
  return (
    `mirror: entry ${entry.index} (${formatReference(entry.source)}): the registry listed ${listed.invalidCount} ` +
    `${listed.invalidCount === 1 ? 'name that is not a tag' : 'names that are not tags'} (the spec's grammar: ` +
    `letters, digits, _ . -, at most 128, not starting with . or -); dropped: ${examples}${more}`
  )
}

/** The destination repository under the source's tag (a digest-only source: pushed by digest). */
function destinationOf(repository: Reference, source: Reference): Reference {
  const { tag: _tag, digest: _digest, ...rest } = repository
  return { ...rest, ...(source.tag ? { tag: source.tag } : {}) }
}

/** What every pair of a run shares: blobs being put, the copy slots, and whether a failure stopped the run. */
interface PairRun {
  request: MirrorRequest
  context: MirrorContext
  locator: BlobLocator
  /** `concurrency` copies (plans, uploads, new referrers) at once; checks take no slot. */
  copies: Slots
  /** Copies queue for their slots in the config's order, whichever check ends first. */
  turns: InTurn
  stop: { stopped: boolean }
}

/**
 * One pair: up to date (two HEADs: the source's digest is the destination's; with platforms,
 * annotations or media types, the digest the plan would push is), planned (dry run) or copied.
 * Anything past the check takes a copy slot, and starts only if no failure stopped the run
 * meanwhile (undefined: not started). A failure is the pair's row, never thrown.
 */
async function mirrorPair(pair: Pair, ticket: number, run: PairRun): Promise<MirrorRow | undefined> {
  const { request, context } = run
  const job = pairJob(pair, ticket, run)
  try {
    // Into an archive: nothing there to be up to date with, every pair is copied (or planned).
    if (request.bundle) return await job.copying(() => copyPair(pair, job, run))
    // Both HEADs at once (one round trip per pair when it is up to date); with platforms alone,
    // the source's root manifest says what a copy would push.
    const [present, wanted] = await Promise.all([destinationDigest(context, pair), expectedDigest(context, pair)])
    if (present && wanted === present) {
      // Signatures are often added after the push: with referrers, an up-to-date tag still brings new ones.
      if (!pair.entry.referrers) return skipped(job.reporter, job.row('skipped', present, 0))
      return await job.copying(() => referrersOfPair(pair, present, job, run))
    }
    // Not known to be up to date: a copy. The destination tag was asked already: the plan does not ask it again.
    return await job.copying(() => copyPair(pair, job, run, { digest: present }))
  } catch (error) {
    return job.failed(error)
  }
}

/** What a pair's steps share: its names, its reporter, its rows, and its way into a copy slot. */
interface PairJob {
  source: string
  destination: string
  reporter: Reporter
  row: (status: MirrorStatus, digest: string, bytes: number, error?: string) => MirrorRow
  /** The failure reported, as the pair's row. */
  failed: (error: unknown) => MirrorRow
  /** `work` in a copy slot, taken in the pairs' order; undefined when a failure stopped the run first. */
  copying: (work: () => Promise<MirrorRow>) => Promise<MirrorRow | undefined>
}

function pairJob(pair: Pair, ticket: number, run: PairRun): PairJob {
  const { copies, turns, stop } = run
  const started = Date.now()
  // A pair's seconds are its own work: the time it waited for its turn and a copy slot is left out.
  let waited = 0
  const source = formatReference(pair.source)
  const destination = formatReference(pair.destination)
  const reporter = run.context.reporterFor({ entry: pair.entry, source, destination })
  const row = (status: MirrorStatus, digest: string, bytes: number, error?: string): MirrorRow => ({
    source,
    destination,
    digest,
    status,
    bytes,
    ...(error !== undefined ? { error } : {}),
    entry: pair.entry.index,
    seconds: (Date.now() - started - waited) / 1000
  })
  const failed = (error: unknown): MirrorRow => {
    reporter.event({ type: 'artifact-failed', source, error: error instanceof Error ? error : new Error(String(error)) })
    return row('failed', '', 0, messageOf(error))
  }
  const copying = async (work: () => Promise<MirrorRow>): Promise<MirrorRow | undefined> => {
    const asked = Date.now()
    await turns.turn(ticket)
    const copied = copies.run(async () => {
      waited = Date.now() - asked
      if (stop.stopped) return undefined
      // A failure that stops the run does so before this slot passes to the next pair.
      const result = await work().catch(failed)
      stopsRun(result, run)
      return result
    })
    // In the slots' queue now: the next pair may join it.
    turns.done(ticket)
    return copied
  }
  return { source, destination, reporter, row, failed, copying }
}

/** A failed pair stops the run with `failFast`, and into a bundle (a failed pair means no bundle at all). */
function stopsRun(row: MirrorRow | undefined, run: PairRun): void {
  if (row?.status === 'failed' && (run.request.failFast || run.request.bundle)) run.stop.stopped = true
}

/**
 * A copy of the pair, or its plan in a dry run, reported as one. `held`: what the destination
 * tag was found to hold (nothing: undefined), so the plan does not ask again, and a plan that
 * would push just that finds the pair up to date.
 */
async function copyPair(pair: Pair, job: PairJob, run: PairRun, held?: { digest: string | undefined }): Promise<MirrorRow> {
  const { request, context, locator } = run
  const { reporter, row, source, destination } = job
  reporter.event({ type: 'artifact-started', source, destinations: [destination] })
  const copyRequest = requestOf(pair, request)
  const planned = held ? { ...copyRequest, heldTags: new Map([[destination, held.digest]]) } : copyRequest
  const plan = await planCopy(context.opener, planned, reporter)
  const digest = plan.root.descriptor.digest
  if (held?.digest === digest) return skipped(reporter, row('skipped', digest, 0))
  if (request.dryRun) return done(reporter, row('planned', digest, plan.bytes))
  const result = await executePlan(plan, reporter, { locator })
  return done(reporter, row('copied', result.digest, result.stats.bytesUploaded))
}

/** An up-to-date pair whose source may have referrers (signatures, SBOMs) the destination lacks. */
async function referrersOfPair(pair: Pair, digest: string, job: PairJob, run: PairRun): Promise<MirrorRow> {
  const moved = await newReferrers(run.context, pair, digest, run.request, job.reporter)
  return moved > 0 ? done(job.reporter, job.row('referrers', digest, 0)) : skipped(job.reporter, job.row('skipped', digest, 0))
}

function requestOf(pair: Pair, request: MirrorRequest): CopyRequest {
  const { entry } = pair
  return {
    source: { kind: 'registry', reference: pair.source },
    destinations: [request.bundle ? inBundle(request.bundle, pair.destination) : { kind: 'registry', reference: pair.destination }],
    maxArtifactSize: request.maxArtifactSize,
    annotations: entry.annotations,
    platforms: entry.platforms,
    ociMediaTypes: entry.ociMediaTypes,
    referrers: entry.referrers,
    ...(request.blobConcurrency ? { concurrency: request.blobConcurrency } : {}),
    ...(request.retry ? { retry: request.retry } : {})
  }
}

/** The pair's place in the bundle: its tag, and its destination's full name (as Docker 25 names images). */
function inBundle(bundle: Endpoint, destination: Reference): Endpoint {
  const placed = atTag(bundle, destination.tag)
  return placed.kind === 'layout' ? { ...placed, imageName: repositoryName(destination) } : placed
}

/** The digest at the pair's destination, by HEAD: its tag, or for a source pinned by digest alone, that digest. */
async function destinationDigest(context: MirrorContext, pair: Pair): Promise<string | undefined> {
  const store = await context.opener.target({ kind: 'registry', reference: pair.destination })
  const reference = pair.destination.tag ?? pair.source.digest
  if (!reference || !isManifestResolver(store)) return undefined
  return (await store.resolveManifest(reference))?.digest
}

/**
 * The digest a copy of the pair would push, found cheaply, or undefined when only a plan can
 * tell: the source's own by HEAD; with `platforms` alone, from the source's root manifest (one
 * GET, the children unread). Annotations and media-type conversions need the whole plan.
 */
async function expectedDigest(context: MirrorContext, pair: Pair): Promise<string | undefined> {
  const { entry } = pair
  if (entry.annotations.length > 0 || entry.ociMediaTypes) return undefined
  const source = await context.opener.source({ kind: 'registry', reference: pair.source })
  const reference = pair.source.digest ?? pair.source.tag
  if (!reference) return undefined
  if (entry.platforms.length === 0) return isManifestResolver(source) ? (await source.resolveManifest(reference))?.digest : undefined
  const root = await fetchRoot(source, reference)
  if (root.manifest.kind !== 'index') return root.descriptor.digest
  const choice = choosePlatforms(root, entry.platforms)
  return choice.kind === 'same' ? root.descriptor.digest : choice.kind === 'child' ? choice.digest : choice.root.descriptor.digest
}

/**
 * The referrers of an up-to-date pair's digest that the destination lacks, copied (none in a dry
 * run, where they are only counted): one referrers lookup at each side, and cosign's tags by HEAD.
 */
async function newReferrers(
  context: MirrorContext,
  pair: Pair,
  digest: string,
  request: MirrorRequest,
  reporter: Reporter
): Promise<number> {
  const [source, target] = await Promise.all([
    context.opener.source({ kind: 'registry', reference: pair.source }),
    context.opener.target({ kind: 'registry', reference: pair.destination })
  ])
  if (request.dryRun) return 0
  reporter.event({ type: 'artifact-started', source: formatReference(pair.source), destinations: [formatReference(pair.destination)] })
  const copied = await copyReferrersOf(source, target, digest, reporter, request.blobConcurrency)
  for (const { subject, digest: referrer, kind } of copied) reporter.event({ type: 'referrer-copied', subject, digest: referrer, kind })
  return copied.length
}

/** A pair a failFast run stopped before it started. */
function notStarted(pair: Pair): MirrorRow {
  return {
    source: formatReference(pair.source),
    destination: formatReference(pair.destination),
    digest: '',
    status: 'not-started',
    bytes: 0,
    entry: pair.entry.index,
    seconds: 0
  }
}

function skipped(reporter: Reporter, row: MirrorRow): MirrorRow {
  reporter.event({ type: 'skipped', source: row.source, destination: row.destination, digest: row.digest })
  return done(reporter, row)
}

function done(reporter: Reporter, row: MirrorRow): MirrorRow {
  reporter.event({ type: 'artifact-done', source: row.source, digest: row.digest, seconds: row.seconds })
  return row
}

/** The failure as a row or an entry keeps it: parameters as tokens, named by each front end when shown. */
function messageOf(error: unknown): string {
  return tokenMessage(error)
}
