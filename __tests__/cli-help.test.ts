/**
 * `oci-push COMMAND --help` (issue 23 §3): examples that run, and only the flags that command
 * takes. What a command takes is read from `flagsOf`, the table the parser checks tokens against,
 * and probed through the parser itself, so help and parser cannot drift apart.
 */
import { describe, expect, test } from '@jest/globals'
import { parseCommandLine, UsageError } from '../src/cli/args.js'
import { COMMANDS, flagsOf, type CommandName } from '../src/cli/commands.js'
import { commandHelp, mainHelp } from '../src/cli/help.js'

const commands = Object.keys(COMMANDS) as CommandName[]

/** Arguments each command needs to parse, so that a flag alone decides. */
const ARGS: Record<CommandName, string[]> = {
  copy: ['r.example/a:v1', 'r.example/b:v1'],
  push: ['image.tar', '--to', 'r.example/a:v1'],
  package: ['./dir', 'r.example/a:v1'],
  mirror: ['mirror.yml']
}

/** The flags the parser accepts for `command` (refused ones, such as --password, excluded). */
function accepted(command: CommandName): string[] {
  return Object.entries(flagsOf(command))
    .filter(([, spec]) => !spec.refused)
    .map(([name]) => `--${name}`)
    .sort()
}

/** Whether the parser takes `flag` in `command` (with a value when it needs one). */
function parses(command: CommandName, flag: string): boolean {
  const spec = flagsOf(command)[flag.slice(2)]
  const value = spec?.type === 'string' ? ['x'] : []
  try {
    parseCommandLine([command, ...ARGS[command], flag, ...value])
    return true
  } catch (error) {
    if (error instanceof UsageError && /^unknown option/.test(error.problem)) return false
    throw error
  }
}

/** The flags a help text lists in its tables: `  -u, --username NAME` or `      --json`. */
function listed(help: string): string[] {
  return help
    .split('\n')
    .flatMap((line) => /^ {2}(?:-[a-zA-Z], | {4})(--[a-z][a-z-]*)/.exec(line)?.[1] ?? [])
    .sort()
}

/** The example command lines a help text shows, after `Examples:`. */
function examples(help: string): string[] {
  const lines = help.split('\n')
  const start = lines.indexOf('Examples:')
  if (start < 0) return []
  const block = lines.slice(start + 1, lines.indexOf('', start))
  return block.filter((line) => line.startsWith('  oci-push ')).map((line) => line.trim())
}

describe('oci-push COMMAND --help', () => {
  test.each(commands)('%s lists exactly the flags its parser takes', (command) => {
    expect(listed(commandHelp(command))).toEqual(accepted(command))
  })

  test.each(commands)('%s names no flag it does not take, anywhere in its text', (command) => {
    const named = new Set(commandHelp(command).match(/--[a-z][a-z-]*/g))
    expect([...named].filter((flag) => !accepted(command).includes(flag))).toEqual([])
  })

  test.each(commands)('%s: every flag its help lists is one the parser takes', (command) => {
    for (const flag of listed(commandHelp(command))) expect([flag, parses(command, flag)]).toEqual([flag, true])
  })

  test.each(commands)('%s shows at least one example, each a command line that parses as that command', (command) => {
    const lines = examples(commandHelp(command))
    expect(lines.length).toBeGreaterThanOrEqual(1)
    for (const line of lines) {
      const [bin, ...argv] = line.split(/\s+/)
      expect(bin).toBe('oci-push')
      expect(parseCommandLine(argv)).toMatchObject({ kind: 'run', command })
    }
  })

  test.each<[CommandName, boolean]>([
    ['copy', true],
    ['mirror', true],
    // push reads files, package a subject on its destination's registry: no source login of their own.
    ['push', false],
    ['package', false]
  ])('%s takes --src-username and --src-password-stdin: %s', (command, takes) => {
    expect(parses(command, '--src-username')).toBe(takes)
    expect(parses(command, '--src-password-stdin')).toBe(takes)
    expect(commandHelp(command).includes('--src-')).toBe(takes)
  })

  test('the main help points at the per-command help and its examples', () => {
    expect(mainHelp()).toContain('oci-push COMMAND --help lists its flags, with examples')
  })
})
