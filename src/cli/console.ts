/**
 * Where the CLI writes: the result to stdout, everything else to stderr, with every secret it
 * was given or found (passwords, Basic values, tokens) replaced by `***` in the lines for people.
 */
import type { Reporter } from '../engine/request.js'
import type { ProgressEvent } from '../engine/events.js'
import type { Logger } from '../log.js'
import type { ProgressView } from './progress.js'
import { cliWords } from './commands.js'
import { inWords, type Words } from '../words.js'

export interface TextSink {
  write(text: string): unknown
}

export class Console {
  private secrets: string[] = []
  /** How the shared code's messages name parameters here: as flags (set once the command is known). */
  words: Words = cliWords(undefined)

  constructor(
    private readonly stdout: TextSink,
    private readonly stderr: TextSink
  ) {}

  /** From here on `value` is printed as `***`. */
  addSecret(value: string): void {
    if (value === '' || this.secrets.includes(value)) return
    // Longest first, so that a secret holding another is masked whole.
    this.secrets = [...this.secrets, value].sort((a, b) => b.length - a.length)
  }

  mask(text: string): string {
    return this.secrets.reduce((masked, secret) => masked.split(secret).join('***'), inWords(text, this.words))
  }

  out(text: string): void {
    this.stdout.write(this.mask(text))
  }

  /**
   * A result as one line of JSON, not masked: its values are data (references, digests, media
   * types, counts) that hold no secret by construction, and masking a secret that is a common
   * substring would corrupt them (`"***lication/vnd.oci…"` for the password `app`).
   */
  json(value: unknown): void {
    this.stdout.write(`${inWords(JSON.stringify(value), this.words)}\n`)
  }

  err(text: string): void {
    this.stderr.write(this.mask(text))
  }
}

export interface ReporterOptions {
  /** Progress and event lines off: warnings (and errors) only. */
  quiet: boolean
  /** Debug lines (requests, where credentials came from) on. */
  debug: boolean
}

/** Diagnostics through the view; events to the view, and the line `lineOf` makes of them printed. */
export function cliReporter(
  view: ProgressView,
  console: Console,
  options: ReporterOptions,
  lineOf: (event: ProgressEvent) => string | undefined
): Reporter {
  return {
    ...cliLogger(view, console, options),
    event(event) {
      view.observe(event)
      const line = options.quiet ? undefined : lineOf(event)
      if (line) view.print(line)
    }
  }
}

export function cliLogger(view: ProgressView, console: Console, { quiet, debug }: ReporterOptions): Logger {
  return {
    debug: (message) => debug && view.print(`debug: ${message}`),
    info: (message) => quiet || view.print(message),
    warning: (message) => view.print(`warning: ${message}`),
    notice: (message) => quiet || view.print(`notice: ${message}`),
    secret: (value) => console.addSecret(value)
  }
}
