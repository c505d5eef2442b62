/**
 * Docker credential helpers (docker/docker-credential-helpers): `docker-credential-<name> get`
 * reads the server address on stdin and prints `{"ServerURL","Username","Secret"}`. A helper that
 * has nothing for the address says so ("credentials not found") and exits non-zero.
 */
import { spawn } from 'node:child_process'
import { CredentialError } from '../errors.js'
import { plain } from '../escape.js'
import type { Credentials } from './credentials.js'

/** Asks helper `name` for `server`; undefined when it has nothing for it. */
export type HelperRunner = (name: string, server: string, registry: string) => Promise<Omit<Credentials, 'origin'> | undefined>

/** Docker's helpers return this user name when the secret is an identity (refresh) token. */
const TOKEN_USER = '<token>'
const HELPER_TIMEOUT_MS = 30_000
const MAX_OUTPUT = 1024 * 1024

/**
 * Variables a helper never sees: the action's inputs (passwords among them), the tokens of the
 * workflow and the runner, and the runner's command files (`GITHUB_ENV`, `GITHUB_PATH`,
 * `GITHUB_OUTPUT`, `GITHUB_STATE`, `GITHUB_STEP_SUMMARY`), through which a helper could set
 * variables for later steps. Everything else goes through, so PATH, HOME and DOCKER_CONFIG find
 * the helper and its files, and cloud helpers keep what they log in with: `AWS_*` (ECR),
 * `GOOGLE_*` and `CLOUDSDK_*` (Artifact Registry), `AZURE_*` (ACR), and the
 * `ACTIONS_ID_TOKEN_REQUEST_URL`/`_TOKEN` pair of an OIDC login.
 */
const WITHHELD = /^(?:INPUT_.*|GITHUB_TOKEN|GH_TOKEN|ACTIONS_RUNTIME_TOKEN|GITHUB_(?:ENV|PATH|OUTPUT|STATE|STEP_SUMMARY))$/i

/** The environment a credential helper runs with: `env` without {@link WITHHELD}. */
export function helperEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !WITHHELD.test(name)))
}

/** Runs helpers as child processes with `env` less what they must not see ({@link helperEnvironment}; its PATH finds them). */
export function helperRunner(env: NodeJS.ProcessEnv): HelperRunner {
  const helperEnv = helperEnvironment(env)
  return async (name, server, registry) => {
    const program = `docker-credential-${name}`
    const { code, stdout, stderr, spawnError } = await runWithInput(program, ['get'], server, helperEnv)
    if (spawnError) {
      const missing = spawnError.code === 'ENOENT'
      throw new CredentialError(
        registry,
        missing
          ? `credential helper ${program} is not installed (not found on PATH); install it or remove it from the Docker config`
          : `credential helper ${program} could not run: ${spawnError.message}`
      )
    }
    if (code !== 0) {
      if (/credentials not found/i.test(stdout + stderr)) return undefined
      const said = (stderr || stdout).trim().split('\n')[0] ?? ''
      throw new CredentialError(
        registry,
        `credential helper ${program} failed for ${server} (exit ${code})${said ? `: ${plain(said, 300)}` : ''}`
      )
    }
    return parseHelperOutput(stdout, program, registry)
  }
}

/** Parses a helper's answer; `<token>` as user name means the secret is an identity token. */
export function parseHelperOutput(stdout: string, program: string, registry: string): Omit<Credentials, 'origin'> | undefined {
  let answer: { Username?: unknown; Secret?: unknown }
  try {
    answer = JSON.parse(stdout) as typeof answer
  } catch {
    throw new CredentialError(registry, `credential helper ${program} did not answer JSON`)
  }
  const username = typeof answer.Username === 'string' ? answer.Username : ''
  const secret = typeof answer.Secret === 'string' ? answer.Secret : ''
  if (!secret) return undefined
  return username === TOKEN_USER ? { username: '', password: '', identityToken: secret } : { username, password: secret }
}

interface Finished {
  code: number | null
  stdout: string
  stderr: string
  spawnError?: NodeJS.ErrnoException
}

function runWithInput(program: string, args: string[], input: string, env: NodeJS.ProcessEnv): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
    // Our own timer, cleared when the helper ends: spawn's `timeout` would hold the process open.
    const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS)
    const finish = (result: Finished) => {
      clearTimeout(timer)
      resolve(result)
    }
    let stdout = ''
    let stderr = ''
    const collect = (append: (text: string) => void) => (chunk: Buffer) => {
      if (stdout.length + stderr.length < MAX_OUTPUT) append(chunk.toString('utf8'))
    }
    child.stdout.on(
      'data',
      collect((t) => (stdout += t))
    )
    child.stderr.on(
      'data',
      collect((t) => (stderr += t))
    )
    child.on('error', (error) => finish({ code: null, stdout, stderr, spawnError: error }))
    child.on('close', (code) => finish({ code, stdout, stderr }))
    child.stdin.on('error', () => {
      // A helper that exits without reading stdin; its exit code tells what happened.
    })
    child.stdin.end(input)
  })
}
