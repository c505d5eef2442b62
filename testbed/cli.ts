/** Runs the bundled `oci-push` command (dist/cli/index.js, the package's bin) as a user runs it. */
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'

export const CLI_ENTRY = resolve('dist/cli/index.js')

export interface CliRun {
  exitCode: number
  stdout: string
  stderr: string
}

/** Runs the bin with `args`; `stdin` is piped in (and closed) when given. */
export async function runCli(
  args: readonly string[],
  options: { stdin?: string; env?: Record<string, string>; cwd?: string } = {}
): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
    env: { ...process.env, ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdio: ['pipe', 'pipe', 'pipe']
  })
  child.stdin.end(options.stdin ?? '')
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exitCode = await new Promise<number>((done) => child.on('close', (code) => done(code ?? -1)))
  return { exitCode, stdout, stderr }
}
