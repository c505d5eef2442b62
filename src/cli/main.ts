/**
 * The `oci-push` command (DESIGN §10): the command line read, the action's inputs made of it, the
 * engine run, and the exit status — 0 done, 1 failed, 2 the command line cannot be used — with
 * one line on stderr saying why when it is not 0.
 */
import { InputError } from '../errors.js'
import { ProgressMeter, progressInterval } from '../progress.js'
import { writtenOutputs, type WrittenReference } from '../outputs.js'
import { parseCommandLine, UsageError, type CommandLine, type Flags } from './args.js'
import { cliWords } from './commands.js'
import { Console, type TextSink } from './console.js'
import { commandHelp, mainHelp } from './help.js'
import { commandInputs, readPasswords } from './inputs.js'
import { BarView, LinesView, PlainView, type ProgressView } from './progress.js'
import { runCommand } from './run.js'
import { packageVersion } from './version.js'
import { tokenMessage } from '../words.js'

export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

/** What the process gives the CLI; tests may give their own. */
export interface CliIo {
  argv: readonly string[]
  env: NodeJS.ProcessEnv
  cwd: string
  /** Read only for --password-stdin. */
  stdin: () => AsyncIterable<string | Buffer>
  stdout: TextSink
  stderr: TextSink & { isTTY?: boolean; columns?: number }
}

export async function main(io: CliIo): Promise<number> {
  const console = new Console(io.stdout, io.stderr)
  let line: CommandLine
  try {
    line = parseCommandLine(io.argv)
  } catch (error) {
    return fail(console, error)
  }
  if (line.kind === 'help') {
    console.out(`${line.command ? commandHelp(line.command) : mainHelp()}\n`)
    return EXIT_OK
  }
  if (line.kind === 'version') {
    console.out(`${packageVersion()}\n`)
    return EXIT_OK
  }
  const { command, args, flags } = line
  console.words = cliWords(command)
  const written: WrittenReference[] = []
  try {
    const passwords = await readPasswords(command, flags, io.stdin)
    // Masked before anything else is printed, even an error about the other flags.
    for (const password of [passwords.password, passwords.srcPassword]) if (password) console.addSecret(password)
    const inputs = commandInputs(command, args, flags, passwords, io.env, io.cwd)
    const view = progressView(io, console, flags)
    const ticker = setInterval(() => view.tick(), tickMs(io, flags))
    ticker.unref()
    try {
      const options = { quiet: flags.has('quiet'), debug: flags.has('debug'), json: flags.has('json') }
      return await runCommand({ inputs, console, view, options, env: io.env, written })
    } finally {
      clearInterval(ticker)
      view.close()
    }
  } catch (error) {
    return fail(console, error, command, flags.has('json') ? { written } : undefined)
  }
}

/** A live bar on a terminal, plain lines elsewhere, none with --quiet. */
function progressView(io: CliIo, console: Console, flags: Flags): ProgressView {
  const writeLine = (line: string) => console.err(`${line}\n`)
  if (flags.has('quiet')) return new LinesView(writeLine)
  const meter = new ProgressMeter(progressInterval(io.env))
  if (io.stderr.isTTY && io.env.TERM !== 'dumb')
    return new BarView(
      (text) => console.err(text),
      meter,
      () => io.stderr.columns || 80
    )
  return new PlainView(writeLine, meter)
}

/** How often the view is asked whether a redraw or a progress line is due. */
function tickMs(io: CliIo, flags: Flags): number {
  if (io.stderr.isTTY && !flags.has('quiet')) return 100
  return Math.min(1000, Math.max(100, progressInterval(io.env)))
}

/**
 * One line on stderr, the exit status for it; with `--json`, also the result as JSON on stdout: the
 * error, and what was written before it (`pushed` and the outputs of the first reference).
 */
function fail(
  console: Console,
  error: unknown,
  command = error instanceof UsageError ? error.command : undefined,
  json?: { written: readonly WrittenReference[] }
): number {
  const prefix = command ? `oci-push ${command}` : 'oci-push'
  const { message, status } = failure(error)
  // Free text (a registry may quote a credential back): masked as the line on stderr is.
  if (json) console.json({ ...(json.written.length > 0 ? writtenOutputs(json.written) : {}), error: console.mask(message) })
  console.err(`${prefix}: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
  return status
}

/** The line a failure is told in, in the command line's words, and the exit status it ends with. */
function failure(error: unknown): { message: string; status: number } {
  if (error instanceof UsageError) {
    const help = error.command ? `oci-push ${error.command} --help` : 'oci-push --help'
    return { message: `${error.message}${error.problem === 'unknown option' ? `; see ${help}` : ''}`, status: EXIT_USAGE }
  }
  // Its parameter, and any it names, come out as this command's flags: Console renders them.
  if (error instanceof InputError) return { message: tokenMessage(error), status: EXIT_USAGE }
  // Named in this command's words by the console (parameters as flags).
  return { message: tokenMessage(error), status: EXIT_FAILED }
}
