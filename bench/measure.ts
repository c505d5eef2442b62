/**
 * How the bench measures: a command's wall time and peak RSS (GNU time), oci-push as the runner
 * runs it, skopeo with an empty blob-info cache, the relay bound, and the round-trip measure (the
 * same run direct and through the delay proxies). Timing lives here, never in tests.
 */
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import type { Blob } from '../testbed/fixtures.js'

/** The action bundle timed; another (a build of other source) with BENCH_ACTION=path. */
export const ACTION = resolve(process.env.BENCH_ACTION ?? 'dist/index.js')
/** The Node that runs our bundle: this one, or another with BENCH_NODE=path. */
export const NODE = process.env.BENCH_NODE ?? process.execPath
/**
 * Node 24, the `node24` GitHub runs the action with, timed beside {@link NODE} where a goal is
 * about it (BENCH_NODE24=path; `scripts/bench.sh` installs one); unset or `off`: not timed.
 */
export const NODE24 = ['', 'off', undefined].includes(process.env.BENCH_NODE24) ? undefined : process.env.BENCH_NODE24
/** `OCI_PUSH_V8_FLAGS` for our runs: off, as the action runs by default, unless BENCH_V8_FLAGS=on. */
export const V8_FLAGS = process.env.BENCH_V8_FLAGS === 'on' ? 'on' : 'off'
/** Extra node arguments for our runs (`--cpu-prof --cpu-prof-dir=DIR`, say); timings are then not comparable. */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)

export interface Sample {
  seconds: number
  rssMiB: number
  /** User + system CPU seconds of the command and its children. */
  cpuSeconds: number
}

/** Runs a command under GNU time: wall seconds (measured here, start to exit), CPU seconds and peak RSS. */
export async function measure(command: string[], env: NodeJS.ProcessEnv = {}): Promise<Sample> {
  const started = process.hrtime.bigint()
  const child = spawn('/usr/bin/time', ['-f', 'BENCH-RSS %M %U %S', ...command], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  let stdout = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number>((done) => child.on('close', (c) => done(c ?? -1)))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (code !== 0) throw new Error(`${command.join(' ')} failed (${code}): ${(stderr + stdout).slice(-2000)}`)
  const [, rss = '0', user = '0', system = '0'] = /BENCH-RSS (\d+) ([\d.]+) ([\d.]+)/.exec(stderr) ?? []
  return { seconds, rssMiB: Number(rss) / 1024, cpuSeconds: Number(user) + Number(system) }
}

/** oci-push as the runner runs it: the action bundle with `INPUT_*` variables, on {@link NODE} or another. */
export function ours(inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}, node = NODE): Promise<Sample> {
  const vars = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]))
  const fixed = { GITHUB_OUTPUT: '/dev/null', RUNNER_DEBUG: '', OCI_PUSH_V8_FLAGS: V8_FLAGS }
  return measure([node, ...NODE_ARGS, ACTION], { ...vars, ...env, ...fixed })
}

/** skopeo with an empty blob-info cache (a tmpfs in a private mount namespace), so it cannot mount from memory. */
export function skopeo(...commands: string[][]): Promise<Sample> {
  const script = [
    'mount -t tmpfs x /var/lib/containers/cache',
    ...commands.map((args) => `skopeo ${args.map((a) => `'${a}'`).join(' ')}`)
  ].join(' && ')
  return measure(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script])
}

export const copyArgs = (src: string, dest: string, all = false, destCreds?: string) => [
  'copy',
  '--quiet',
  ...(all ? ['--all'] : []),
  ...(destCreds ? ['--dest-creds', destCreds] : []),
  '--src-tls-verify=false',
  '--dest-tls-verify=false',
  src,
  dest
]

/**
 * The relay bound of a registry-to-registry copy: for every blob a curl GET piped into a streamed
 * curl PUT, all blobs at once, no hashing, no existence check. Upload sessions are opened before
 * the clock starts, so the bound is the bytes' way alone.
 */
export async function relay(
  source: string,
  sourceRepo: string,
  dest: string,
  destRepo: string,
  blobs: readonly Blob[],
  creds: string
): Promise<Sample> {
  const basic = `Basic ${Buffer.from(creds).toString('base64')}`
  const commands = await Promise.all(
    blobs.map(async (blob) => {
      const res = await fetch(`http://${dest}/v2/${destRepo}/blobs/uploads/`, { method: 'POST', headers: { authorization: basic } })
      await res.arrayBuffer()
      if (res.status !== 202) throw new Error(`relay: upload POST answered ${res.status}`)
      const location = new URL(res.headers.get('location') ?? '', `http://${dest}`)
      location.searchParams.set('digest', blob.digest)
      const get = `curl -sf http://${source}/v2/${sourceRepo}/blobs/${blob.digest}`
      return `${get} | curl -sf -u '${creds}' -T - -H 'Content-Type: application/octet-stream' '${location.href}' &`
    })
  )
  return measure(['sh', '-c', `${commands.join('\n')}\nwait`])
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export const seconds = (samples: readonly Sample[]) => median(samples.map((s) => s.seconds))
export const rss = (samples: readonly Sample[]) => median(samples.map((s) => s.rssMiB))
export const cpu = (samples: readonly Sample[]) => median(samples.map((s) => s.cpuSeconds))

/** `1.23 s (1.10–1.40)`: median, min and max. */
export function spread(samples: readonly Sample[], unit = 's', of: (s: Sample) => number = (s) => s.seconds): string {
  const values = samples.map(of)
  const digits = unit === 's' ? 2 : 0
  return `${median(values).toFixed(digits)} ${unit} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`
}

/**
 * Runs every runner once per round, in an order that rotates from round to round (none always
 * first, on a machine warming up), and collects each one's samples.
 */
export async function rounds<K extends string>(
  count: number,
  runners: Record<K, (round: number) => Promise<Sample>>
): Promise<Record<K, Sample[]>> {
  const keys = Object.keys(runners) as K[]
  const samples = Object.fromEntries(keys.map((k) => [k, [] as Sample[]])) as Record<K, Sample[]>
  for (let round = 0; round < count; round++) {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[(i + round) % keys.length]
      samples[key].push(await runners[key](round))
    }
    process.stderr.write('.')
  }
  return samples
}

/** The round-trip measure: how many `delayMs` delays the delayed run's critical path waited through. */
export function roundTrips(direct: readonly Sample[], delayed: readonly Sample[], delayMs: number): number {
  return (seconds(delayed) - seconds(direct)) / (delayMs / 1000)
}
