/** `--help` text, made from the command table so that help and parser cannot disagree. */
import { COMMANDS, flagGroups, type CommandName, type FlagSpec } from './commands.js'

const WIDTH = 100

export function mainHelp(): string {
  const commands = Object.values(COMMANDS).map((c) => [`${c.name} ${c.arguments}`, c.summary] as const)
  return [
    'oci-push: copy, retag and push OCI artifacts (images, indexes, Helm charts) between registries, byte for byte.',
    '',
    'Usage: oci-push COMMAND ARGUMENTS [FLAGS]',
    '',
    'Commands:',
    ...table(commands),
    '',
    'oci-push COMMAND --help lists its flags, with examples; oci-push --version prints the version.',
    '',
    ...credentials(true),
    '',
    ...FOOTER
  ].join('\n')
}

/** A command's help: its arguments, examples, and only the flags it takes (as the parser reads them). */
export function commandHelp(name: CommandName): string {
  const command = COMMANDS[name]
  return [
    `Usage: oci-push ${name} ${command.arguments} [FLAGS]`,
    '',
    `${command.summary[0].toUpperCase()}${command.summary.slice(1)}.`,
    '',
    ...command.details.map((line) => `  ${line}`),
    '',
    'Examples:',
    ...command.examples.flatMap(({ line, does }) => [`  # ${does}`, `  ${line}`]),
    ...flagGroups(name).flatMap((group) => ['', `${group.title}:`, ...flagTable(group.flags)]),
    '',
    ...credentials(command.login.source),
    '',
    ...FOOTER
  ].join('\n')
}

/** Where credentials come from; `--src-username` only where the command takes it. */
function credentials(sourceLogin: boolean): string[] {
  return [
    sourceLogin
      ? 'Credentials: --username with --password-stdin (the destination registries, and the source on the same host),'
      : 'Credentials: --username with --password-stdin (the destination registries),',
    ...(sourceLogin ? ['--src-username with --src-password-stdin (the source),'] : []),
    'else the Docker config and its credential helpers ($DOCKER_CONFIG or ~/.docker/config.json, as docker login',
    "writes it), Helm's registry config for oci:// references, else anonymous."
  ].concat(sourceLogin ? ['Only one password can come on stdin: log in to the other registry with docker login.'] : [])
}

const FOOTER = [
  'Progress goes to stderr (a bar per transfer on a terminal, a line every few seconds otherwise), the result to stdout.',
  'Exit status: 0 done, 1 failed, 2 the command line cannot be used.'
]

function flagTable(flags: Record<string, FlagSpec>): string[] {
  return table(
    Object.entries(flags)
      .filter(([, spec]) => !spec.refused)
      .map(
        ([name, spec]) => [`${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`, spec.help] as const
      )
  )
}

/** Two columns, the second wrapped under itself. */
function table(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const left = Math.min(32, Math.max(...rows.map(([name]) => name.length)) + 2)
  return rows.flatMap(([name, text]) => {
    const lines = wrap(text, WIDTH - left - 2)
    const first = name.length + 2 > left ? [`  ${name}`, `  ${' '.repeat(left)}${lines[0]}`] : [`  ${name.padEnd(left)}${lines[0]}`]
    return [...first, ...lines.slice(1).map((line) => `  ${' '.repeat(left)}${line}`)]
  })
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  return [...lines, line]
}
