/**
 * The command line read into a command, its arguments and its flags, by Node's `util.parseArgs`.
 * Its tokens are then checked against the command's flags ({@link COMMANDS}) so that every
 * mistake is one {@link UsageError} naming the flag or argument.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { COMMANDS, flagsOf, isCommand, type CommandName, type FlagSpec } from './commands.js'

/** The command line cannot be used: exit 2, one line naming `argument`. */
export class UsageError extends Error {
  constructor(
    readonly argument: string,
    readonly problem: string,
    /** The command whose help to point at, when known. */
    readonly command?: CommandName
  ) {
    super(`${argument}: ${problem}`)
    this.name = 'UsageError'
  }
}

/** The values of a command's flags, checked: strings as given (in order), booleans by presence. */
export class Flags {
  constructor(
    private readonly strings: ReadonlyMap<string, readonly string[]>,
    private readonly booleans: ReadonlySet<string>
  ) {}

  /** The value of a flag given once; the last when given several times. */
  value(name: string): string | undefined {
    return this.strings.get(name)?.at(-1)
  }

  values(name: string): string[] {
    return [...(this.strings.get(name) ?? [])]
  }

  has(name: string): boolean {
    return this.booleans.has(name) || this.strings.has(name)
  }
}

export type CommandLine =
  { kind: 'help'; command?: CommandName } | { kind: 'version' } | { kind: 'run'; command: CommandName; args: string[]; flags: Flags }

const COMMAND_LIST = Object.keys(COMMANDS).join(', ')

export function parseCommandLine(argv: readonly string[]): CommandLine {
  const [first, ...rest] = argv
  if (first === undefined) throw new UsageError('COMMAND', `missing: give one of ${COMMAND_LIST} (oci-push --help says more)`)
  if (first === '--help' || first === '-h') return { kind: 'help' }
  if (first === '--version' || first === '-V') return { kind: 'version' }
  if (first === 'help') {
    const topic = rest[0]
    if (topic === undefined) return { kind: 'help' }
    if (!isCommand(topic)) throw new UsageError(topic, `is not a command: give one of ${COMMAND_LIST}`)
    return { kind: 'help', command: topic }
  }
  if (first.startsWith('-')) throw new UsageError(first, `unknown option before the command; give one of ${COMMAND_LIST} first`)
  if (!isCommand(first)) throw new UsageError(first, `is not a command: give one of ${COMMAND_LIST}`)
  return parseCommand(first, rest)
}

function parseCommand(command: CommandName, argv: readonly string[]): CommandLine {
  const specs = flagsOf(command)
  const { tokens } = parseArgs({ args: [...argv], options: parserOptions(specs), allowPositionals: true, strict: false, tokens: true })
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) return { kind: 'help', command }
  const strings = new Map<string, string[]>()
  const booleans = new Set<string>()
  const args: string[] = []
  for (const token of tokens) {
    if (token.kind === 'positional') args.push(token.value)
    if (token.kind !== 'option') continue
    const spec = specs[token.name] as FlagSpec | undefined
    const fail = (problem: string): never => {
      throw new UsageError(token.rawName, problem, command)
    }
    if (!spec) fail('unknown option')
    else if (spec.refused) fail(spec.refused)
    else if (spec.type === 'boolean') {
      if (token.value !== undefined) fail('takes no value')
      booleans.add(token.name)
    } else {
      const value = token.value
      if (value === undefined) fail(`needs a value (${spec.value ?? 'VALUE'})`)
      // A negative number is a value (`--max-size -1`), not an option.
      else if (!token.inlineValue && value.startsWith('-') && value !== '-' && !/^-\d+$/.test(value))
        fail(`needs a value, not the option ${value} (write ${token.rawName}=${value} for a value that starts with -)`)
      else strings.set(token.name, [...(spec.multiple ? (strings.get(token.name) ?? []) : []), value])
    }
  }
  checkArguments(command, args, strings)
  return { kind: 'run', command, args, flags: new Flags(strings, booleans) }
}

function parserOptions(specs: Record<string, FlagSpec>): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [
      name,
      { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) }
    ])
  )
}

/** The arguments each command needs, before anything is read or opened. */
function checkArguments(command: CommandName, args: readonly string[], strings: ReadonlyMap<string, readonly string[]>): void {
  const missing = (argument: string, what: string): never => {
    throw new UsageError(argument, `missing: ${what}`, command)
  }
  const extra = (index: number, why: string): void => {
    if (args.length > index) throw new UsageError(args[index], `unexpected argument: ${why}`, command)
  }
  switch (command) {
    case 'copy':
      if (args.length < 1) missing('SRC', 'the reference to copy from, e.g. ghcr.io/org/app:v1.2.3')
      if (args.length < 2) missing('DEST', 'one or more references to copy to, e.g. registry.example.com/app:v1.2.3')
      break
    case 'push':
      if (args.length < 1) missing('ARCHIVE', 'one or more tarballs or OCI layout directories to push')
      if (!strings.has('to')) missing('--to', 'where to push, e.g. --to ghcr.io/org/app:v1 (or a prefix ending in /)')
      break
    case 'package':
      if (args.length < 1) missing('PATH', 'the directory, file or Helm chart to package')
      if (args.length < 2 && !strings.has('subject')) missing('DEST', 'where to push the package (or --subject to attach it to a manifest)')
      break
    case 'mirror':
      if (args.length < 1) missing('FILE', 'the mirror config, a .yml, .yaml or .json file')
      extra(1, 'mirror takes one FILE')
      break
  }
}
