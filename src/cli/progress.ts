/**
 * Progress on stderr (DESIGN §10): on a terminal a live bar per transfer under the lines printed
 * so far, redrawn in place; elsewhere (a CI log, a file) a plain progress line every few seconds.
 * Both are fed the engine's events and a clock, and write text through a function: no I/O here.
 */
import type { ProgressEvent } from '../engine/events.js'
import type { ProgressMeter } from '../progress.js'
import { formatBytes } from '../size.js'

/** What the CLI shows while it works. */
export interface ProgressView {
  /** An engine event, for the progress it tells. */
  observe(event: ProgressEvent): void
  /** A line that stays (an event worth a line, a warning). */
  print(line: string): void
  /** Time passed: a progress line or a redraw when one is due. */
  tick(): void
  /** The run is over: the live part is taken away. */
  close(): void
}

/** Lines only; no progress (`--quiet`, where only warnings and errors reach it). */
export class LinesView implements ProgressView {
  constructor(private readonly write: (line: string) => void) {}
  observe(): void {}
  print(line: string): void {
    this.write(line)
  }
  tick(): void {}
  close(): void {}
}

/** A log: lines as they come, and a progress line for the whole run at most every interval. */
export class PlainView implements ProgressView {
  constructor(
    private readonly write: (line: string) => void,
    private readonly meter: ProgressMeter
  ) {}

  observe(event: ProgressEvent): void {
    this.meter.observe(event)
    this.tick()
  }

  print(line: string): void {
    this.write(line)
  }

  /** Also called by a timer, so that a stalled transfer still shows (its rate falling). */
  tick(): void {
    const line = this.meter.line()
    if (line) this.write(line)
  }

  close(): void {}
}

/** One blob on its way to a target. */
export interface Transfer {
  target: string
  digest: string
  done: number
  size: number
}

/** Transfers shown at most; the rest are counted on one line. */
export const MAX_BARS = 6
const BAR_WIDTH = 20

/** A terminal: bars under the printed lines, redrawn at most every `redrawMs`. */
export class BarView implements ProgressView {
  private readonly transfers = new Map<string, Transfer>()
  /** Lines of bars on the screen now, below everything printed. */
  private drawn = 0
  private lastDraw = Number.NEGATIVE_INFINITY

  constructor(
    private readonly write: (text: string) => void,
    private readonly meter: ProgressMeter,
    private readonly columns: () => number,
    private readonly now: () => number = Date.now,
    private readonly redrawMs = 100
  ) {}

  observe(event: ProgressEvent): void {
    this.meter.observe(event)
    const changed = trackTransfers(this.transfers, event)
    if (changed) this.draw()
    else this.tick()
  }

  print(line: string): void {
    this.write(`${erase(this.drawn)}${line}\n`)
    this.drawn = 0
    this.draw()
  }

  tick(): void {
    if (this.now() - this.lastDraw >= this.redrawMs) this.draw()
  }

  close(): void {
    this.write(erase(this.drawn))
    this.drawn = 0
  }

  private draw(): void {
    const lines = barLines([...this.transfers.values()], this.meter.describe(this.now()), this.columns())
    if (lines.length === 0 && this.drawn === 0) return
    this.write(`${erase(this.drawn)}${lines.map((line) => `${line}\n`).join('')}`)
    this.drawn = lines.length
    this.lastDraw = this.now()
  }
}

/**
 * Keeps `transfers` in step with an event: a blob starts, moves, ends or fails. Returns whether a bar
 * came or went (worth a redraw at once, not only when due).
 */
export function trackTransfers(transfers: Map<string, Transfer>, event: ProgressEvent): boolean {
  if (event.type !== 'blob-started' && event.type !== 'blob-progress' && event.type !== 'blob-done' && event.type !== 'blob-failed')
    return false
  const key = `${event.target} ${event.digest}`
  if (event.type === 'blob-done' || event.type === 'blob-failed') return transfers.delete(key)
  const known = transfers.get(key)
  const done = event.type === 'blob-progress' ? event.done : 0
  transfers.set(key, { target: event.target, digest: event.digest, done, size: event.size })
  return known === undefined
}

/** The bars, each cut to the terminal's width, and the whole run's line under them; none when nothing moves. */
export function barLines(transfers: readonly Transfer[], total: string, columns: number): string[] {
  if (transfers.length === 0) return []
  const shown = transfers.slice(0, MAX_BARS).map(barLine)
  const more = transfers.length > MAX_BARS ? [`  ... and ${transfers.length - MAX_BARS} more`] : []
  // One column short of the width: a line that fills it exactly wraps on some terminals.
  return [...shown, ...more, total].map((line) => fit(line, Math.max(20, columns - 1)))
}

export function barLine({ target, digest, done, size }: Transfer): string {
  const fraction = size > 0 ? Math.min(1, done / size) : 1
  const percent = String(Math.floor(fraction * 100)).padStart(3)
  return `${shortDigest(digest)} ${bar(fraction)} ${percent}% ${formatBytes(done)} of ${formatBytes(size)} to ${target}`
}

/** `[=========>          ]` */
export function bar(fraction: number, width = BAR_WIDTH): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width)
  const body = filled === 0 ? '' : filled === width ? '='.repeat(width) : `${'='.repeat(filled - 1)}>`
  return `[${body.padEnd(width)}]`
}

/** The first 12 hex digits, as docker shows layers. */
function shortDigest(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13)
}

function fit(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, width - 3)}...`
}

/** Moves up over `lines` drawn lines and clears from there to the end of the screen (ECMA-48 CUU, ED). */
export function erase(lines: number): string {
  return lines === 0 ? '' : `\x1b[${lines}A\r\x1b[J`
}
