/**
 * A command line read as the action's inputs: each flag and argument becomes the input it
 * mirrors and the action's own {@link parseRunRequest} checks them, so the CLI and the action accept
 * the same values and copy the same way. Passwords come from stdin only, as `docker login
 * --password-stdin` takes them.
 */
import { parseRunRequest, type RunRequest } from '../run-request.js'
import { UsageError, type Flags } from './args.js'
import type { CommandName } from './commands.js'

export interface Passwords {
  password?: string
  srcPassword?: string
}

/**
 * The password `--password-stdin` or `--src-password-stdin` asks for, read from `stdin` to its
 * end, one trailing newline dropped (as docker login does). Only one secret can come on stdin.
 */
export async function readPasswords(command: CommandName, flags: Flags, stdin: () => AsyncIterable<string | Buffer>): Promise<Passwords> {
  const usage = (argument: string, problem: string): never => {
    throw new UsageError(argument, problem, command)
  }
  const fromStdin = flags.has('password-stdin')
  const srcFromStdin = flags.has('src-password-stdin')
  if (fromStdin && srcFromStdin)
    usage('--src-password-stdin', 'only one password can come on stdin: log in to the other registry with docker login instead')
  if (fromStdin && !flags.value('username')) usage('--username', 'required with --password-stdin')
  if (srcFromStdin && !flags.value('src-username')) usage('--src-username', 'required with --src-password-stdin')
  if (flags.value('username') && !fromStdin) usage('--password-stdin', 'required with --username: pipe the password or token on stdin')
  if (flags.value('src-username') && !srcFromStdin)
    usage('--src-password-stdin', 'required with --src-username: pipe the password or token on stdin')
  if (!fromStdin && !srcFromStdin) return {}
  const flag = fromStdin ? '--password-stdin' : '--src-password-stdin'
  const password = await readSecret(stdin())
  if (password === '') usage(flag, 'stdin held no password; pipe it, e.g. printf %s "$TOKEN" | oci-push ...')
  return fromStdin ? { password } : { srcPassword: password }
}

async function readSecret(stdin: AsyncIterable<string | Buffer>): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '').replace(/\r$/, '')
}

const MIRROR_FILE = /\.(?:ya?ml|json)$/i

/** The action's inputs for a command line; errors are the action's, naming inputs (see `flagForInput`). */
export function commandInputs(
  command: CommandName,
  args: readonly string[],
  flags: Flags,
  passwords: Passwords,
  env: NodeJS.ProcessEnv,
  cwd: string
): RunRequest {
  const values = inputValues(command, args, flags, passwords)
  // Relative paths (the mirror file, archives, layouts) are the shell's: from the working directory.
  return parseRunRequest((name) => values[name] ?? '', { ...env, GITHUB_WORKSPACE: cwd })
}

function inputValues(command: CommandName, args: readonly string[], flags: Flags, passwords: Passwords): Record<string, string> {
  const on = (flag: string): string => (flags.has(flag) ? 'true' : '')
  const common: Record<string, string> = {
    username: flags.value('username') ?? '',
    password: passwords.password ?? '',
    srcUsername: flags.value('src-username') ?? '',
    srcPassword: passwords.srcPassword ?? '',
    caCert: flags.value('ca-cert') ?? '',
    insecureSkipTLSVerify: on('insecure-skip-tls-verify'),
    plainHttp: on('plain-http'),
    maxArtifactSize: flags.value('max-size') ?? '',
    annotations: flags.values('annotation').join('\n'),
    platforms: flags.values('platform').join(','),
    referrers: on('referrers'),
    ociMediaTypes: on('oci-media-types'),
    dryRun: on('dry-run')
  }
  switch (command) {
    case 'copy':
      return { ...common, srcRef: args[0], destRef: args.slice(1).join('\n') }
    case 'push':
      return { ...common, archive: args.join('\n'), destRef: flags.values('to').join('\n') }
    case 'package':
      return {
        ...common,
        path: args[0],
        destRef: args.slice(1).join('\n'),
        artifactType: flags.value('artifact-type') ?? '',
        subject: flags.value('subject') ?? ''
      }
    case 'mirror':
      // The action reads inline YAML too; on a command line the argument is always a file.
      if (!MIRROR_FILE.test(args[0])) throw new UsageError('FILE', `"${args[0]}" is not a .yml, .yaml or .json file`, command)
      return {
        ...common,
        mirror: args[0],
        shard: flags.value('shard') ?? '',
        failFast: on('fail-fast'),
        mirrorConcurrency: flags.value('mirror-concurrency') ?? '',
        bundle: flags.value('bundle') ?? ''
      }
  }
}
