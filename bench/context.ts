/**
 * What every scenario of the bench shares: the registries and their delay proxies, the fixtures
 * pushed so far, and the figures recorded, each beside its goal.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pushFixture, type Fixture } from '../testbed/fixtures.js'
import type { RecordingProxy } from '../testbed/proxy.js'
import type { TestRegistry } from '../testbed/registry.js'
import { bigImage, MiB, multiPlatformIndex } from './fixtures.js'
import { NODE, NODE24, rss, spread, type Sample } from './measure.js'

export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
/** Rounds of the scenarios other than the big copy (BENCH_FEW=N sets them). */
export const FEW = Number(process.env.BENCH_FEW ?? Math.max(3, Math.ceil(ROUNDS / 2) + 1))
/** Added to every request on both sides by the delay proxies: one round trip of a distant registry. */
export const DELAY_MS = 100

export interface Bench {
  open: TestRegistry
  secured: TestRegistry
  /** The two registries behind proxies that hold every request {@link DELAY_MS}. */
  slowOpen: RecordingProxy
  slowSecured: RecordingProxy
  login: { username: string; password: string }
  /** `user:password` for skopeo and curl. */
  creds: string
  work: string
  /** Fixtures pushed so far, by repository. */
  pushed: Map<string, Promise<Fixture>>
}

/** One line of the result: a figure beside its goal. */
export interface Figure {
  scenario: string
  figure: string
  goal: string
  met?: boolean
  details: string
}

export const figures: Figure[] = []

export function record(figure: Figure): void {
  figures.push(figure)
  process.stderr.write(`\n${figure.scenario}: ${figure.figure} (goal ${figure.goal}) ${verdict(figure)}\n  ${figure.details}\n`)
}

export const verdict = (f: Figure) => (f.met === undefined ? '' : f.met ? 'met' : '**missed**')

/** Pushes a fixture once per run, whichever scenario needs it first. */
export function fixture(bench: Bench, repository: string, make: () => Fixture): Promise<Fixture> {
  let pushed = bench.pushed.get(repository)
  if (!pushed) {
    const built = make()
    pushed = pushFixture(bench.open.host, repository, built, 'v1').then(() => built)
    bench.pushed.set(repository, pushed)
  }
  return pushed
}

export const big = (bench: Bench) => fixture(bench, 'bench/big', () => bigImage('bench-big', [1 * MiB, 64 * MiB, 256 * MiB]))
export const multi = (bench: Bench) => fixture(bench, 'bench/multi', multiPlatformIndex)

/** The hosts of a run: the registries themselves, or the delay proxies in front of them. */
export function hosts(bench: Bench, delayed: boolean): { src: string; dst: string } {
  return delayed ? { src: bench.slowOpen.host, dst: bench.slowSecured.host } : { src: bench.open.host, dst: bench.secured.host }
}

/** Counts the requests both delay proxies saw during `runner`. */
export async function counted(bench: Bench, counts: number[], runner: () => Promise<Sample>): Promise<Sample> {
  bench.slowOpen.reset()
  bench.slowSecured.reset()
  delayEverything(bench)
  const sample = await runner()
  counts.push(bench.slowOpen.requests.length + bench.slowSecured.requests.length)
  return sample
}

/** Both proxies hold every request `delayMs` (0: none) from now on. */
export function delayEverything(bench: Bench, delayMs = DELAY_MS): void {
  for (const proxy of [bench.slowOpen, bench.slowSecured])
    proxy.faults.rules = delayMs > 0 ? [{ match: () => true, times: Infinity, action: { delayMs } }] : []
}

export const middle = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

/** Basic credentials for the secured registry, directly and through its proxy, as a Docker config. */
export async function dockerConfig(bench: Bench): Promise<string> {
  const dir = join(bench.work, 'docker')
  await mkdir(dir, { recursive: true })
  const auth = Buffer.from(bench.creds).toString('base64')
  const auths = Object.fromEntries([bench.secured.host, bench.slowSecured.host].map((host) => [host, { auth }]))
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths }))
  return dir
}

export type Runner = (round: number) => Promise<Sample>

/**
 * A runner of ours on Node 20 under `key` and, when the bench has one, on Node 24 under `key24`;
 * each is given its key, to write where the other does not.
 */
export function onBothNodes(key: string, runner: (node: string, key: string) => Runner): Record<string, Runner> {
  return { [key]: runner(NODE, key), ...(NODE24 ? { [`${key}24`]: runner(NODE24, `${key}24`) } : {}) }
}

/** The samples of Node 24 where it ran, else Node 20's: what the goals about Node 24 are judged on. */
export function node24Samples(samples: Record<string, Sample[]>, key: string): Sample[] {
  return samples[`${key}24`] ?? samples[key]
}

/** `x (Node 24: y)`: a figure of Node 20, and Node 24's beside it when it ran. */
export function besideNode24(samples: Record<string, Sample[]>, key: string, show: (s: Sample[]) => string): string {
  const other = samples[`${key}24`]
  return other ? `${show(samples[key])} (Node 24: ${show(other)})` : show(samples[key])
}

/** Which Node the goals about Node 24 were judged on. */
export const NODE24_NOTE = NODE24 ? '' : ' (Node 24 not timed, BENCH_NODE24 unset: judged on Node 20)'

/** Peak RSS on Node 24, MiB, and how much more it may be at 1 GiB than at 1 KiB. */
export const RSS_MiB = 192
const RSS_GROWTH_MiB = 16

/**
 * Peak RSS of a copy or push at 321 MiB, 1 GiB and 3 × 1 KiB (the samples under these keys, and
 * the keys + `24` for Node 24): on Node 24 under {@link RSS_MiB}, and flat in size.
 */
export function rssFigure(
  scenario: string,
  samples: Record<string, Sample[]>,
  keys: { at321: string; at1GiB: string; at1KiB: string }
): void {
  const [at321, at1GiB, at1KiB] = [keys.at321, keys.at1GiB, keys.at1KiB].map((key) => node24Samples(samples, key))
  const growth = rss(at1GiB) - rss(at1KiB)
  const mib = (x: Sample[]) => spread(x, 'MiB', (one) => one.rssMiB)
  const node20 = NODE24
    ? `; Node 20: ${[keys.at321, keys.at1GiB, keys.at1KiB].map((key) => rss(samples[key]).toFixed(0)).join(', ')} MiB`
    : ''
  record({
    scenario,
    figure: `Node 24: ${rss(at321).toFixed(0)} MiB; ${rss(at1GiB).toFixed(0)} MiB at 1 GiB, ${rss(at1KiB).toFixed(0)} MiB at 3 × 1 KiB${NODE24_NOTE}`,
    goal: `≤ ${RSS_MiB} MiB on Node 24, flat in size (≤ ${RSS_GROWTH_MiB} MiB more at 1 GiB than at 1 KiB)`,
    met: Math.max(rss(at321), rss(at1GiB)) <= RSS_MiB && growth <= RSS_GROWTH_MiB,
    details: `321 MiB, 1 GiB, 3 × 1 KiB on Node 24: ${mib(at321)}, ${mib(at1GiB)}, ${mib(at1KiB)}${node20}`
  })
}
