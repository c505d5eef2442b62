/**
 * `npm run bench`: the figures of the speed issue, each beside its goal, measured against bounds
 * taken in the same run (round trips through a delay proxy, the curl relay, skopeo on the same
 * loopback registries), so that they hold on any machine. Timing lives here, never in tests.
 *
 * BENCH_SCENARIOS=1,3 (or names: index,relay) runs only those; BENCH_ROUNDS=N sets the rounds of
 * the big copy (default 5; the others take about half as many, at least 3, or BENCH_FEW=N);
 * BENCH_ACTION=path times another build of the action, BENCH_NODE=path runs it with another Node
 * and BENCH_NODE24=path is the Node 24 timed beside it; BENCH_V8_FLAGS=on times it with
 * OCI_PUSH_V8_FLAGS=on (off by default, as the action runs); BENCH_CACHE=dir keeps the fixtures
 * built once (the docker save of real files; default .build/bench-cache).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startProxy } from '../testbed/proxy.js'
import { startRegistry } from '../testbed/registry.js'
import { requireTools, run } from '../testbed/tools.js'
import {
  type Bench,
  besideNode24,
  big,
  counted,
  DELAY_MS,
  delayEverything,
  FEW,
  figures,
  fixture,
  hosts,
  middle,
  multi,
  onBothNodes,
  record,
  ROUNDS,
  rssFigure,
  verdict
} from './context.js'
import { bigImage, MiB } from './fixtures.js'
import {
  ACTION,
  copyArgs,
  cpu,
  NODE,
  NODE24,
  ours,
  relay,
  roundTrips,
  rounds,
  rss,
  seconds,
  skopeo,
  spread,
  V8_FLAGS,
  type Sample
} from './measure.js'
import { mirrorAtScale, mirrorRerun } from './mirror.js'
import { dockerSave, dockerSaveOfFiles } from './save.js'

/** The relay-bound ratios the big copy may take, at 321 MiB and at 1 GiB, on Node 20 and 24. */
const RELAY_RATIO = 1.1
const RELAY_RATIO_1GiB = 1.03

type Run = (delayed: boolean) => (round: number) => Promise<Sample>

/** Ours and skopeo's, each direct and through the delay proxies: the samples and the round trips on the critical path. */
async function compareRoundTrips(oursRun: Run, skopeoRun: Run) {
  const s = await rounds(FEW, {
    direct: oursRun(false),
    delayed: oursRun(true),
    skopeoDirect: skopeoRun(false),
    skopeoDelayed: skopeoRun(true)
  })
  return { s, trips: roundTrips(s.direct, s.delayed, DELAY_MS), theirs: roundTrips(s.skopeoDirect, s.skopeoDelayed, DELAY_MS) }
}

/** 1. The index into a new repository on another registry: round trips on the critical path. */
async function indexIntoNewRepository(bench: Bench): Promise<void> {
  await multi(bench)
  const { login, creds } = bench
  const requests: number[] = []
  const oursRun = (delayed: boolean) => (r: number) => {
    const { src, dst } = hosts(bench, delayed)
    const copy = () => ours({ srcRef: `${src}/bench/multi:v1`, destRef: `${dst}/s1/ours-${delayed ? 'slow' : 'fast'}-${r}:v1`, ...login })
    return delayed ? counted(bench, requests, copy) : copy()
  }
  const skopeoRun = (delayed: boolean) => (r: number) => {
    const { src, dst } = hosts(bench, delayed)
    return skopeo(copyArgs(`docker://${src}/bench/multi:v1`, `docker://${dst}/s1/skopeo-${delayed ? 'slow' : 'fast'}-${r}:v1`, true, creds))
  }
  const { s, trips, theirs } = await compareRoundTrips(oursRun, skopeoRun)
  record({
    scenario: '1 index, 4 platforms × (config + 4 × 256 KiB) → new repository',
    figure: `${trips.toFixed(1)} round trips (skopeo ${theirs.toFixed(1)})`,
    goal: '≤ 10',
    met: trips <= 10,
    details: `ours ${spread(s.direct)} direct, ${spread(s.delayed)} at +${DELAY_MS} ms, ${middle(requests)} requests; skopeo ${spread(s.skopeoDirect)} direct, ${spread(s.skopeoDelayed)} at +${DELAY_MS} ms`
  })
}

/** 2. A retag of that index in its own repository: round trips, and no blob request at all. */
async function retagInPlace(bench: Bench): Promise<void> {
  await multi(bench)
  const requests: number[] = []
  let blobRequests = 0
  const oursRun = (delayed: boolean) => (r: number) => {
    const { src } = hosts(bench, delayed)
    const retag = () => ours({ srcRef: `${src}/bench/multi:v1`, destRef: `${src}/bench/multi:ours-${delayed ? 'slow' : 'fast'}-${r}` })
    if (!delayed) return retag()
    return counted(bench, requests, async () => {
      const sample = await retag()
      blobRequests += bench.slowOpen.requests.filter((q) => q.path.includes('/blobs/')).length
      return sample
    })
  }
  const skopeoRun = (delayed: boolean) => (r: number) => {
    const { src } = hosts(bench, delayed)
    return skopeo(copyArgs(`docker://${src}/bench/multi:v1`, `docker://${src}/bench/multi:skopeo-${delayed ? 'slow' : 'fast'}-${r}`, true))
  }
  const { s, trips, theirs } = await compareRoundTrips(oursRun, skopeoRun)
  record({
    scenario: '2 same-repository retag of that index',
    figure: `${trips.toFixed(1)} round trips (skopeo ${theirs.toFixed(1)})`,
    goal: '≤ 3, no blob request',
    met: trips <= 3 && blobRequests === 0,
    details: `ours ${spread(s.direct)} direct, ${spread(s.delayed)} at +${DELAY_MS} ms, ${middle(requests)} requests, ${blobRequests} blob requests; skopeo ${spread(s.skopeoDirect)} direct, ${spread(s.skopeoDelayed)} at +${DELAY_MS} ms`
  })
}

/**
 * 3. The big copy against the relay bound and skopeo, on Node 20 and Node 24; peak RSS at
 * 321 MiB, at 1 GiB and at 3 × 1 KiB.
 */
async function bigCopy(bench: Bench): Promise<void> {
  const image = await big(bench)
  const { open, secured, login, creds } = bench
  const copy = (repository: string) => (node: string, key: string) => (r: number) =>
    ours(
      { srcRef: `${open.host}/${repository}:v1`, destRef: `${secured.host}/s3/${key}-${r}:v1`, ...login, maxArtifactSize: '-1' },
      {},
      node
    )
  await fixture(bench, 'bench/tiny', () => bigImage('bench-tiny', [1024, 1024, 1024]))
  const s = await rounds<string>(ROUNDS, {
    ...onBothNodes('ours', copy('bench/big')),
    // The same copy with 1 KiB layers: what it costs besides the bytes (Node's start, the requests).
    ...onBothNodes('fixed', copy('bench/tiny')),
    relay: (r) => relay(open.host, 'bench/big', secured.host, `s3/relay-${r}`, image.blobs.slice(1), creds),
    skopeo: (r) => skopeo(copyArgs(`docker://${open.host}/bench/big:v1`, `docker://${secured.host}/s3/skopeo-${r}:v1`, false, creds))
  })
  const huge = await fixture(bench, 'bench/huge', () => bigImage('bench-huge', [1 * MiB, 128 * MiB, 896 * MiB]))
  const h = await rounds<string>(Math.min(FEW, 3), {
    ...onBothNodes('huge', copy('bench/huge')),
    relay: (r) => relay(open.host, 'bench/huge', secured.host, `s3/huge-relay-${r}`, huge.blobs.slice(1), creds)
  })
  const ratio = (samples: Sample[], bound: Sample[]) => seconds(samples) / seconds(bound)
  const ratios = ['ours', 'ours24'].filter((key) => s[key]).map((key) => ratio(s[key], s.relay))
  const hugeRatios = ['huge', 'huge24'].filter((key) => h[key]).map((key) => ratio(h[key], h.relay))
  // What the bytes alone take: the copy less the same copy of 1 KiB layers, over the relay.
  const alone = (node: '' | '24') => `${((seconds(s[`ours${node}`]) - seconds(s[`fixed${node}`])) / seconds(s.relay)).toFixed(2)}×`
  record({
    scenario: '3 321 MiB, 3 layers, registry → registry',
    figure: `${besideNode24(s, 'ours', (x) => `${ratio(x, s.relay).toFixed(2)}×`)} the relay bound; 1 GiB ${besideNode24(h, 'huge', (x) => `${ratio(x, h.relay).toFixed(2)}×`)}`,
    goal: `≤ ${RELAY_RATIO.toFixed(2)}×; ≤ ${RELAY_RATIO_1GiB.toFixed(2)}× at 1 GiB`,
    met: Math.max(...ratios) <= RELAY_RATIO && Math.max(...hugeRatios) <= RELAY_RATIO_1GiB,
    details:
      `ours ${besideNode24(s, 'ours', (x) => `${spread(x)} (CPU ${cpu(x).toFixed(2)} s)`)}, relay ${spread(s.relay)} (CPU ${cpu(s.relay).toFixed(2)} s); ` +
      `the same copy of 3 × 1 KiB ${besideNode24(s, 'fixed', spread)}, so the bytes alone take ${alone('')}${s.ours24 ? ` (Node 24: ${alone('24')})` : ''} the relay; ` +
      `skopeo ${spread(s.skopeo)} (ours ÷ skopeo ${(seconds(s.ours) / seconds(s.skopeo)).toFixed(2)}); 1 GiB: ours ${besideNode24(h, 'huge', spread)}, relay ${spread(h.relay)}; ` +
      `peak RSS skopeo ${rss(s.skopeo).toFixed(0)} MiB, curl relay ${rss(s.relay).toFixed(0)} MiB`
  })
  rssFigure('3 peak RSS of that copy', { ...s, ...h }, { at321: 'ours', at1GiB: 'huge', at1KiB: 'fixed' })
}

/** 6. Same registry, new repository: mounts, no bytes. */
async function mountIntoNewRepository(bench: Bench): Promise<void> {
  await big(bench)
  const host = bench.open.host
  const s = await rounds(FEW, {
    ours: (r) => ours({ srcRef: `${host}/bench/big:v1`, destRef: `${host}/s6/ours-${r}:v1`, maxArtifactSize: '-1' }),
    skopeo: (r) => skopeo(copyArgs(`docker://${host}/bench/big:v1`, `docker://${host}/s6/skopeo-${r}:v1`))
  })
  const ratio = seconds(s.ours) / seconds(s.skopeo)
  record({
    scenario: '6 same registry, new repository (mounts)',
    figure: `${ratio.toFixed(2)}× skopeo`,
    goal: '≤ 1.0×',
    met: ratio <= 1,
    details: `ours ${spread(s.ours)}, skopeo ${spread(s.skopeo)}`
  })
}

/** 7. An OCI layout tarball → registry. */
async function ociArchive(bench: Bench): Promise<void> {
  await big(bench)
  const path = join(bench.work, 'big.oci.tar')
  const host = bench.open.host
  await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${host}/bench/big:v1`, `oci-archive:${path}:v1`])
  const s = await rounds(FEW, {
    ours: (r) => ours({ archive: path, destRef: `${host}/s7/ours-${r}:v1`, maxArtifactSize: '-1' }),
    skopeo: (r) => skopeo(copyArgs(`oci-archive:${path}:v1`, `docker://${host}/s7/skopeo-${r}:v1`))
  })
  const ratio = seconds(s.ours) / seconds(s.skopeo)
  record({
    scenario: '7 oci-archive 321 MiB → registry',
    figure: `${ratio.toFixed(2)}× skopeo`,
    goal: '≤ 1.0×',
    met: ratio <= 1,
    details: `ours ${spread(s.ours)}, skopeo ${spread(s.skopeo)}`
  })
}

/** 8. One source to three repositories of another registry: each blob's bytes uploaded once. */
async function fanOut(bench: Bench): Promise<void> {
  const image = await big(bench)
  const { open, secured, login, creds } = bench
  const uploads = await startProxy(secured.port)
  let uploadedOnce = true
  try {
    const s = await rounds(FEW, {
      ours: async (r) => {
        uploads.reset()
        const dests = [1, 2, 3].map((n) => `${uploads.host}/s8/ours-${r}-${n}:v1`).join('\n')
        const sample = await ours({ srcRef: `${open.host}/bench/big:v1`, destRef: dests, ...login, maxArtifactSize: '-1' })
        const puts = uploads.requests.filter((q) => q.method === 'PUT' && q.path.includes('/blobs/uploads/')).length
        uploadedOnce &&= puts === image.blobs.length
        return sample
      },
      skopeo: (r) =>
        skopeo(
          ...[1, 2, 3].map((n) =>
            copyArgs(`docker://${open.host}/bench/big:v1`, `docker://${secured.host}/s8/skopeo-${r}-${n}:v1`, false, creds)
          )
        )
    })
    record({
      scenario: '8 one source → three repositories',
      figure: `${(seconds(s.ours) / seconds(s.skopeo)).toFixed(2)}× skopeo`,
      goal: 'blob bytes uploaded once per registry',
      met: uploadedOnce,
      details: `ours ${spread(s.ours)}, skopeo ${spread(s.skopeo)}`
    })
  } finally {
    await uploads.stop()
  }
}

const SCENARIOS: Array<{ id: string; name: string; run: (bench: Bench) => Promise<void> }> = [
  { id: '1', name: 'index', run: indexIntoNewRepository },
  { id: '2', name: 'retag', run: retagInPlace },
  { id: '3', name: 'relay', run: bigCopy },
  { id: '4', name: 'save', run: dockerSave },
  { id: '4b', name: 'save-files', run: dockerSaveOfFiles },
  { id: '5', name: 'mirror', run: mirrorRerun },
  { id: '5b', name: 'mirror-scale', run: mirrorAtScale },
  { id: '6', name: 'mount', run: mountIntoNewRepository },
  { id: '7', name: 'oci-archive', run: ociArchive },
  { id: '8', name: 'fan-out', run: fanOut }
]

async function main(): Promise<void> {
  await requireTools(['docker-registry', 'skopeo', 'curl', 'unshare', '/usr/bin/time'])
  await run('mkdir', ['-p', '/var/lib/containers/cache'])
  const only = new Set((process.env.BENCH_SCENARIOS ?? SCENARIOS.map((s) => s.id).join(',')).split(',').map((s) => s.trim()))
  const chosen = SCENARIOS.filter((s) => only.has(s.id) || only.has(s.name))
  const login = { username: 'bench', password: 'bench-password' }
  const [open, secured] = await Promise.all([startRegistry(), startRegistry({ htpasswd: login })])
  const [slowOpen, slowSecured] = await Promise.all([startProxy(open.port), startProxy(secured.port)])
  const work = await mkdtemp(join(tmpdir(), 'oci-push-bench-'))
  const bench: Bench = {
    open,
    secured,
    slowOpen,
    slowSecured,
    login,
    creds: `${login.username}:${login.password}`,
    work,
    pushed: new Map()
  }
  delayEverything(bench)
  try {
    const node24 = NODE24 ? ` and ${NODE24} where a goal is about Node 24` : ''
    console.error(
      `Timing ${ACTION} on ${NODE}${node24}, OCI_PUSH_V8_FLAGS=${V8_FLAGS}; ${ROUNDS} rounds for the big copy, ${FEW} for the others.`
    )
    for (const scenario of chosen) await scenario.run(bench)
    const versions = await Promise.all([NODE, ...(NODE24 ? [NODE24] : [])].map(async (node) => (await run(node, ['-v'])).trim()))
    report(versions.join(' and '))
  } finally {
    await Promise.all([slowOpen.stop(), slowSecured.stop()])
    await Promise.all([open.stop(), secured.stop()])
    await rm(work, { recursive: true, force: true })
  }
}

/** The figures as a Markdown table, ready for docs/performance.md. */
function report(nodeVersion: string): void {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  console.log(
    `\n${new Date().toISOString().slice(0, 10)} · ${cpus().length} CPUs (${cpu}) · Node ${nodeVersion} · OCI_PUSH_V8_FLAGS=${V8_FLAGS} · ${ROUNDS}/${FEW} rounds\n`
  )
  console.log('| scenario | figure | goal | | measured |')
  console.log('| --- | --- | --- | --- | --- |')
  for (const f of figures) console.log(`| ${f.scenario} | ${f.figure} | ${f.goal} | ${verdict(f)} | ${f.details} |`)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
