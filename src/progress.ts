/**
 * The engine's events as people read them (DESIGN §7): one line per event worth a line, and a
 * progress line — done of total, rate, time left — at most every few seconds during transfers.
 * Pure: the action and the CLI decide where the text goes.
 */
import type { ProgressEvent } from './engine/events.js'
import type { Reporter } from './engine/request.js'
import type { Logger } from './log.js'
import { formatBytes } from './size.js'

/** A reporter that writes each event's line, and progress lines when due, to `logger.info`. */
export function lineReporter(logger: Logger, meter?: ProgressMeter): Reporter {
  return {
    ...logger,
    event(event) {
      const line = describeEvent(event)
      if (line) logger.info(line)
      meter?.observe(event)
      const progress = meter?.line()
      if (progress) logger.info(progress)
    }
  }
}

/** The line an event stands for in a log, or undefined for events only a meter counts. */
export function describeEvent(event: ProgressEvent): string | undefined {
  switch (event.type) {
    case 'artifact-started':
      return `Copying ${event.source} to ${event.destinations.join(', ')}`
    case 'artifact-resolved':
      return `${event.source} is ${event.mediaType} ${event.digest}`
    case 'manifest-rewritten':
      return `Rewrote ${event.from} as ${event.to}`
    case 'target-up-to-date':
      return `${event.target} already has ${event.digest}`
    case 'target-done': {
      const { blobsUploaded, bytesUploaded, blobsMounted, blobsSkipped } = event.stats
      return `Copied to ${event.target}: ${blobsUploaded} blobs uploaded (${formatBytes(bytesUploaded)}), ${blobsMounted} mounted, ${blobsSkipped} already there`
    }
    case 'referrer-copied':
      return `Copied referrer ${event.digest} (${event.kind}) of ${event.subject}`
    case 'tag-written':
      return event.how === 'tagged'
        ? `Tagged ${event.ref}`
        : event.how === 'stored'
          ? `Stored ${event.ref}`
          : `${event.ref} is already at ${event.digest}: not written again`
    case 'skipped':
      return `${event.destination} is up to date with ${event.source} (${event.digest})`
    case 'archive-opened':
      return `${event.path}: ${event.kind} with ${event.images} image name${event.images === 1 ? '' : 's'}`
    case 'package-made':
      return `Packaged ${event.path} (${event.kind}) as ${event.digest}`
    case 'subject-resolved':
      return `Attaching to ${event.ref}@${event.digest}`
    case 'referrer-recorded':
      return `Recorded as a referrer of ${event.subject} in ${event.target} (${event.via === 'api' ? 'referrers API' : `tag ${event.subject.replace(':', '-')}`})`
    case 'artifact-done':
      return `Done in ${event.seconds.toFixed(1)} s: ${event.digest}`
    case 'artifact-failed':
      return `Failed: ${event.error.message}`
    default:
      return undefined
  }
}

/**
 * Counts bytes across every transfer of a run and says how far along it is. `line()` gives a
 * progress line when one is due: transfers are running and `intervalMs` has passed since the last.
 */
export class ProgressMeter {
  private planned = 0
  private done = 0
  private readonly perBlob = new Map<string, number>()
  private started: number | undefined
  private lastLine: number | undefined
  private active = 0

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now
  ) {}

  observe(event: ProgressEvent): void {
    const key = 'digest' in event && 'target' in event ? `${event.target} ${event.digest}` : ''
    switch (event.type) {
      case 'transfer-planned':
        this.planned += event.bytes
        this.started ??= this.now()
        this.lastLine ??= this.now()
        break
      case 'blob-started':
        // Transfers may start before any is planned (a docker save's layers, uploaded as they are compressed).
        this.started ??= this.now()
        this.lastLine ??= this.now()
        if (!this.perBlob.has(key)) this.active++
        this.advance(key, 0)
        break
      case 'blob-progress':
        this.advance(key, event.done)
        break
      case 'blob-done':
        if (this.perBlob.has(key)) this.active--
        this.advance(key, event.size)
        this.perBlob.delete(key)
        break
      case 'blob-failed':
        // Its bytes will not come: taken back from what is done and from what is to come.
        if (this.perBlob.has(key)) this.active--
        this.advance(key, 0)
        this.planned -= event.size
        this.perBlob.delete(key)
        break
      default:
    }
  }

  /** A progress line, when transfers are running and one is due. */
  line(): string | undefined {
    const now = this.now()
    if (this.active === 0 || this.started === undefined || now - (this.lastLine ?? 0) < this.intervalMs) return undefined
    this.lastLine = now
    return this.describe(now)
  }

  describe(now = this.now()): string {
    const seconds = Math.max(0.001, (now - (this.started ?? now)) / 1000)
    const rate = this.done / seconds
    // Nothing planned yet: no total to measure against.
    if (this.planned === 0) return `Progress: ${formatBytes(this.done)} so far, ${formatBytes(Math.round(rate))}/s`
    const total = Math.max(this.planned, this.done)
    const percent = total > 0 ? Math.floor((this.done / total) * 100) : 100
    // A rate from the first moments says nothing yet about the time left.
    const left = rate > 0 && seconds >= 1 ? Math.ceil((total - this.done) / rate) : undefined
    return (
      `Progress: ${formatBytes(this.done)} of ${formatBytes(total)} (${percent}%), ${formatBytes(Math.round(rate))}/s` +
      (left !== undefined ? `, about ${formatDuration(left)} left` : '')
    )
  }

  /** Fraction done, 0 to 1 (for a bar). */
  fraction(): number {
    const total = Math.max(this.planned, this.done)
    return total > 0 ? this.done / total : 0
  }

  private advance(key: string, count: number): void {
    const before = this.perBlob.get(key) ?? 0
    // A restarted upload counts from zero again: its bytes are taken back.
    this.done += count - before
    this.perBlob.set(key, count)
  }
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** Milliseconds between progress lines: 5 s, or `OCI_PUSH_PROGRESS_INTERVAL` seconds (a busier log, or a test). */
export function progressInterval(env: NodeJS.ProcessEnv): number {
  const seconds = Number(env.OCI_PUSH_PROGRESS_INTERVAL)
  return Number.isFinite(seconds) && seconds >= 0 && env.OCI_PUSH_PROGRESS_INTERVAL !== '' ? seconds * 1000 : 5000
}
