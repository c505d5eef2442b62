/**
 * A mirror's log (DESIGN §7): pairs run several at once, so each pair's lines are held back and
 * printed together as one log group when the pair ends, and a progress line for the whole run
 * is printed between groups, at most every few seconds.
 */
import type { ProgressEvent } from '../engine/events.js'
import type { Reporter } from '../engine/request.js'
import type { Logger } from '../log.js'
import { describeEvent, type ProgressMeter } from '../progress.js'

/** Where the lines go: `@actions/core`'s functions in the action. */
export interface GroupedLog extends Logger {
  startGroup(title: string): void
  endGroup(): void
}

type Line = { level: 'debug' | 'info' | 'warning' | 'notice'; text: string }

export class MirrorLog {
  private readonly logs: PairLog[] = []

  constructor(
    private readonly out: GroupedLog,
    private readonly meter: ProgressMeter,
    private readonly dryRun: boolean
  ) {}

  /** The reporter of one (source tag, destination) pair. */
  reporterFor(pair: { source: string; destination: string }): Reporter {
    const log = new PairLog(`${pair.source} → ${pair.destination}`, this.out, this.dryRun)
    this.logs.push(log)
    const { out, meter } = this
    return {
      debug: (text) => log.add('debug', text),
      info: (text) => log.add('info', text),
      warning: (text) => log.add('warning', text),
      notice: (text) => log.add('notice', text),
      // Masked at once: the buffered lines are printed later, after the mask is in place.
      secret: (value) => out.secret(value),
      event(event) {
        meter.observe(event)
        log.event(event)
        const progress = meter.line()
        if (progress) out.info(progress)
      }
    }
  }

  /** Prints what is still held (pairs a stopped run never ended, lines after a pair ended): nothing is lost. */
  flush(): void {
    for (const log of this.logs) log.end(log.ended ? 'more' : 'unfinished')
  }
}

class PairLog {
  private lines: Line[] = []
  private started = false
  private upToDate = false
  /** Whether a tag was written: a pair that only brought referrers wrote none. */
  private tagged = false
  private referrers = false
  ended = false

  constructor(
    private readonly title: string,
    private readonly out: GroupedLog,
    private readonly dryRun: boolean
  ) {}

  add(level: Line['level'], text: string): void {
    this.lines.push({ level, text })
  }

  event(event: ProgressEvent): void {
    // Outside an artifact's events, the skip is all there is to say about the pair: its end
    // closes the one group without a "Done in" line of its own.
    const skippedWhole = event.type === 'artifact-done' && this.upToDate && !this.started
    const line = skippedWhole ? undefined : describeEvent(event)
    if (line) this.add('info', line)
    if (event.type === 'artifact-started') this.started = true
    else if (event.type === 'tag-written') this.tagged = true
    else if (event.type === 'referrer-copied') this.referrers = true
    else if (event.type === 'artifact-done') this.end(this.outcome())
    else if (event.type === 'artifact-failed') this.end('failed')
    else if (event.type === 'skipped') this.upToDate = true
  }

  private outcome(): string {
    if (this.upToDate) return 'up to date'
    if (this.dryRun) return 'planned'
    return this.referrers && !this.tagged ? 'up to date, new referrers copied' : 'copied'
  }

  end(outcome: string): void {
    const lines = this.lines
    this.lines = []
    this.started = false
    this.ended = true
    if (lines.length === 0) return
    this.out.startGroup(`${this.title}: ${outcome}`)
    for (const { level, text } of lines) this.out[level](text)
    this.out.endGroup()
  }
}
