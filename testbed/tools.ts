/** Running the real peers the tests rely on; a missing one is an error, never a skip. */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

export const PEERS = ['docker-registry', 'skopeo', 'umoci', 'buildah', 'htpasswd', 'jq', 'openssl', '/usr/bin/time', 'chattr'] as const

/** Throws naming every peer that is not on PATH. */
export async function requireTools(tools: readonly string[] = PEERS): Promise<void> {
  const missing: string[] = []
  for (const tool of tools) {
    try {
      await execFileAsync('sh', ['-c', `command -v "${tool}"`])
    } catch {
      missing.push(tool)
    }
  }
  if (missing.length > 0) {
    throw new Error(`missing test peers: ${missing.join(', ')} (run scripts/install-peers.sh as root)`)
  }
}

/** Runs a command, resolves its stdout; rejects with its stderr in the message. */
export async function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { ...options, maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const e = error as { stderr?: string; message: string }
    throw new Error(`${command} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`, { cause: error })
  }
}

/** The fields of a manifest the tests look at, as JSON.parse gives them. */
export interface RawManifest {
  mediaType?: string
  config?: { mediaType: string; digest: string; size: number }
  layers?: Array<{ mediaType: string; digest: string; size: number }>
  manifests?: Array<{ mediaType: string; digest: string; size: number; annotations?: Record<string, string> }>
  subject?: { mediaType: string; digest: string; size: number }
  annotations?: Record<string, string>
}

/** `skopeo inspect --raw` of a reference on a loopback registry: the bytes as stored. */
export async function skopeoRaw(ref: string, creds?: { username: string; password: string }): Promise<string> {
  const args = ['inspect', '--raw', '--tls-verify=false']
  if (creds) args.push('--creds', `${creds.username}:${creds.password}`)
  return run('skopeo', [...args, `docker://${ref}`])
}

/** `skopeo inspect` (parsed image config) for one platform of a reference. */
export async function skopeoInspect(ref: string, options: { arch?: string; os?: string } = {}): Promise<Record<string, unknown>> {
  const args = ['inspect', '--tls-verify=false']
  if (options.arch) args.push('--override-arch', options.arch)
  if (options.os) args.push('--override-os', options.os)
  return JSON.parse(await run('skopeo', [...args, `docker://${ref}`])) as Record<string, unknown>
}

/**
 * Pulls a reference (every platform of an index) with skopeo into a throw-away OCI layout:
 * skopeo verifies each blob's digest on the way, so this fails unless the copy is whole.
 */
export async function skopeoPullAll(ref: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'oci-push-pull-'))
  try {
    await run('skopeo', ['copy', '--quiet', '--all', '--src-tls-verify=false', `docker://${ref}`, `oci:${join(dir, 'layout')}:pulled`])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
