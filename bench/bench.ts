/**
 * `npm run bench`: the figures of the speed issue, each beside its goal, measured against bounds
 * taken in the same run (round trips through a delay proxy, the curl relay, skopeo on the same
 * loopback registries), so that they hold on any machine. Timing lives here, never in tests.
 *
 * BENCH_SCENARIOS=1,3 (or names: index,relay) runs only those; BENCH_ROUNDS=N sets the rounds of
 * the big copy (default 5; the others take about half as many, at least 3); BENCH_ACTION=path
 * times another build of the action, BENCH_NODE=path runs it with another Node.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pushFixture, type Fixture } from '../testbed/fixtures.js'
import { startProxy, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, run } from '../testbed/tools.js'
import { bigImage, MiB, multiPlatformIndex, pushManyTags, writeDockerSave } from './fixtures.js'
import { ACTION, copyArgs, cpu, NODE, ours, relay, roundTrips, rounds, rss, seconds, skopeo, spread, type Sample } from './measure.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const FEW = Math.max(3, Math.ceil(ROUNDS / 2) + 1)
/** Added to every request on both sides by the delay proxies: one round trip of a distant registry. */
const DELAY_MS = 100
const TAGS = 200
/** `mirrorConcurrency`'s default. */
const MIRROR_CONCURRENCY = 4
/** Peak RSS may grow this much from the 321 MiB copy to the 1 GiB one and still count as flat. */
const RSS_GROWTH_MiB = 8

interface Bench {
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
interface Figure {
  scenario: string
  figure: string
  goal: string
  met?: boolean
  details: string
}

const figures: Figure[] = []

function record(figure: Figure): void {
  figures.push(figure)
  process.stderr.write(`\n${figure.scenario}: ${figure.figure} (goal ${figure.goal}) ${verdict(figure)}\n  ${figure.details}\n`)
}

const verdict = (f: Figure) => (f.met === undefined ? '' : f.met ? 'met' : '**missed**')

/** Pushes a fixture once per run, whichever scenario needs it first. */
function fixture(bench: Bench, repository: string, make: () => Fixture): Promise<Fixture> {
  let pushed = bench.pushed.get(repository)
  if (!pushed) {
    const built = make()
    pushed = pushFixture(bench.open.host, repository, built, 'v1').then(() => built)
    bench.pushed.set(repository, pushed)
  }
  return pushed
}

const big = (bench: Bench) => fixture(bench, 'bench/big', () => bigImage('bench-big', [1 * MiB, 64 * MiB, 256 * MiB]))
const multi = (bench: Bench) => fixture(bench, 'bench/multi', multiPlatformIndex)

/** The hosts of a run: the registries themselves, or the delay proxies in front of them. */
function hosts(bench: Bench, delayed: boolean): { src: string; dst: string } {
  return delayed ? { src: bench.slowOpen.host, dst: bench.slowSecured.host } : { src: bench.open.host, dst: bench.secured.host }
}

/** Counts the requests both delay proxies saw during `runner`. */
async function counted(bench: Bench, counts: number[], runner: () => Promise<Sample>): Promise<Sample> {
  bench.slowOpen.reset()
  bench.slowSecured.reset()
  delayEverything(bench)
  const sample = await runner()
  counts.push(bench.slowOpen.requests.length + bench.slowSecured.requests.length)
  return sample
}

function delayEverything(bench: Bench): void {
  for (const proxy of [bench.slowOpen, bench.slowSecured])
    proxy.faults.rules = [{ match: () => true, times: Infinity, action: { delayMs: DELAY_MS } }]
}

const middle = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

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

/** 3. The big copy against the relay bound and skopeo; peak RSS at 321 MiB and at 1 GiB. */
async function bigCopy(bench: Bench): Promise<void> {
  const image = await big(bench)
  const { open, secured, login, creds } = bench
  const copy = (repository: string, dest: string) =>
    ours({ srcRef: `${open.host}/${repository}:v1`, destRef: `${secured.host}/${dest}:v1`, ...login, maxArtifactSize: '-1' })
  await fixture(bench, 'bench/tiny', () => bigImage('bench-tiny', [1024, 1024, 1024]))
  const s = await rounds(ROUNDS, {
    ours: (r) => copy('bench/big', `s3/ours-${r}`),
    // The same copy with 1 KiB layers: what it costs besides the bytes (Node's start, the requests).
    fixed: (r) => copy('bench/tiny', `s3/tiny-${r}`),
    relay: (r) => relay(open.host, 'bench/big', secured.host, `s3/relay-${r}`, image.blobs.slice(1), creds),
    skopeo: (r) => skopeo(copyArgs(`docker://${open.host}/bench/big:v1`, `docker://${secured.host}/s3/skopeo-${r}:v1`, false, creds))
  })
  const ratio = seconds(s.ours) / seconds(s.relay)
  const huge = await fixture(bench, 'bench/huge', () => bigImage('bench-huge', [1 * MiB, 128 * MiB, 896 * MiB]))
  const h = await rounds(Math.min(FEW, 3), {
    ours: (r) => copy('bench/huge', `s3/huge-ours-${r}`),
    relay: (r) => relay(open.host, 'bench/huge', secured.host, `s3/huge-relay-${r}`, huge.blobs.slice(1), creds)
  })
  record({
    scenario: '3 321 MiB, 3 layers, registry → registry',
    figure: `${ratio.toFixed(2)}× the relay bound`,
    goal: '≤ 1.05×',
    met: ratio <= 1.05,
    details: `ours ${spread(s.ours)} (CPU ${cpu(s.ours).toFixed(2)} s), relay ${spread(s.relay)} (CPU ${cpu(s.relay).toFixed(2)} s); the same copy of 3 × 1 KiB ${spread(s.fixed)}, so the bytes alone take ${((seconds(s.ours) - seconds(s.fixed)) / seconds(s.relay)).toFixed(2)}× the relay; skopeo ${spread(s.skopeo)} (ours ÷ skopeo ${(seconds(s.ours) / seconds(s.skopeo)).toFixed(2)}); 1 GiB: ours ${spread(h.ours)}, relay ${spread(h.relay)}, ${(seconds(h.ours) / seconds(h.relay)).toFixed(2)}×`
  })
  const growth = rss(h.ours) - rss(s.ours)
  record({
    scenario: '3 peak RSS of that copy',
    figure: `${rss(s.ours).toFixed(0)} MiB; ${rss(h.ours).toFixed(0)} MiB at 1 GiB`,
    goal: `≤ 128 MiB, flat in size (≤ ${RSS_GROWTH_MiB} MiB more at 1 GiB)`,
    met: Math.max(rss(s.ours), rss(h.ours)) <= 128 && growth <= RSS_GROWTH_MiB,
    details: `321 MiB: ${spread(s.ours, 'MiB', (x) => x.rssMiB)}; 1 GiB: ${spread(h.ours, 'MiB', (x) => x.rssMiB)}; the copy of 3 × 1 KiB: ${spread(s.fixed, 'MiB', (x) => x.rssMiB)}; skopeo ${rss(s.skopeo).toFixed(0)} MiB, curl relay ${rss(s.relay).toFixed(0)} MiB`
  })
}

/** 4. A legacy `docker save` tarball (uncompressed layers) → registry, against skopeo's `docker-archive:`. */
async function dockerSave(bench: Bench): Promise<void> {
  const path = join(bench.work, 'big.docker.tar')
  await writeDockerSave(path, [1 * MiB, 64 * MiB, 256 * MiB])
  const host = bench.open.host
  const s = await rounds(FEW, {
    ours: (r) => ours({ archive: path, destRef: `${host}/s4/ours-${r}`, maxArtifactSize: '-1' }),
    skopeo: (r) => skopeo(copyArgs(`docker-archive:${path}`, `docker://${host}/s4/skopeo-${r}:v1`))
  })
  const ratio = seconds(s.ours) / seconds(s.skopeo)
  record({
    scenario: '4 321 MiB docker save (uncompressed layers) → registry',
    figure: `${ratio.toFixed(2)}× skopeo`,
    goal: '≤ 1.0×, peak RSS ≤ 200 MiB',
    met: ratio <= 1 && rss(s.ours) <= 200,
    details: `ours ${spread(s.ours)}, skopeo ${spread(s.skopeo)}; peak RSS ours ${rss(s.ours).toFixed(0)} MiB, skopeo ${rss(s.skopeo).toFixed(0)} MiB`
  })
}

/** 5. A mirror re-run of many tags, all up to date: requests per tag, and wall time in round trips. */
async function mirrorRerun(bench: Bench): Promise<void> {
  await pushManyTags(bench.open.host, 'bench/tags', TAGS)
  const env = { DOCKER_CONFIG: await dockerConfig(bench) }
  const mirror = (delayed: boolean) => {
    const { src, dst } = hosts(bench, delayed)
    const config = { mirrors: [{ source: `${src}/bench/tags`, destination: `${dst}/s5/tags`, tags: { allow: ['.*'] } }] }
    return ours({ mirror: JSON.stringify(config) }, env)
  }
  const first = await mirrorUntilDone(() => mirror(false))
  const requests: number[] = []
  let writes = 0
  let heads = 0
  const s = await rounds(FEW, {
    direct: () => mirror(false),
    delayed: () =>
      counted(bench, requests, async () => {
        const sample = await mirror(true)
        const all = [...bench.slowOpen.requests, ...bench.slowSecured.requests]
        writes += all.filter((q) => q.method !== 'GET' && q.method !== 'HEAD').length
        heads = all.filter((q) => q.method === 'HEAD' && q.path.includes('/manifests/')).length
        return sample
      })
  })
  const perTag = heads / TAGS
  const wallTrips = seconds(s.delayed) / (DELAY_MS / 1000)
  const bound = (2 * TAGS) / MIRROR_CONCURRENCY + 10
  record({
    scenario: `5 mirror re-run, ${TAGS} tags up to date, +${DELAY_MS} ms`,
    figure: `${perTag.toFixed(2)} requests per tag; wall ${wallTrips.toFixed(0)} round trips`,
    goal: `≤ 2 per tag; ≤ ${bound} round trips`,
    met: perTag <= 2 && wallTrips <= bound && writes === 0,
    details: `${middle(requests)} requests in all (${heads} manifest HEADs, the rest per run: pings, tag list); ${writes} writes; wall ${spread(s.delayed)} at +${DELAY_MS} ms (${roundTrips(s.direct, s.delayed, DELAY_MS).toFixed(0)} round trips over the direct ${spread(s.direct)}); first mirror ${first.sample.seconds.toFixed(1)} s${first.failures.length ? ` after ${first.failures.length} failed run(s): ${first.failures.join('; ')}` : ''}`
  })
}

/**
 * The mirror that sets the re-run up, run again while it fails (at most 3 times): what it left
 * out the next run copies. Each failure's last line is kept for the report.
 */
async function mirrorUntilDone(run: () => Promise<Sample>): Promise<{ sample: Sample; failures: string[] }> {
  const failures: string[] = []
  for (;;) {
    try {
      return { sample: await run(), failures }
    } catch (error) {
      // `::error::mirror: 2 failed:%0A… 400 DIGEST_INVALID: …; MANIFEST_BLOB_UNKNOWN: …`: the count and the codes.
      const text = error instanceof Error ? error.message : String(error)
      const failed = /mirror: (\d+) failed/.exec(text)?.[1] ?? '?'
      const codes = [...new Set(text.match(/\b[A-Z][A-Z_]{3,}\b/g) ?? [])].join(', ')
      failures.push(`${failed} pairs failed (${codes})`)
      if (failures.length >= 3) throw error
    }
  }
}

/** Basic credentials for the secured registry, directly and through its proxy, as a Docker config. */
async function dockerConfig(bench: Bench): Promise<string> {
  const dir = join(bench.work, 'docker')
  await mkdir(dir, { recursive: true })
  const auth = Buffer.from(bench.creds).toString('base64')
  const auths = Object.fromEntries([bench.secured.host, bench.slowSecured.host].map((host) => [host, { auth }]))
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths }))
  return dir
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
  { id: '5', name: 'mirror', run: mirrorRerun },
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
    console.error(`Timing ${ACTION} on ${NODE}; ${ROUNDS} rounds for the big copy, ${FEW} for the others.`)
    for (const scenario of chosen) await scenario.run(bench)
    report((await run(NODE, ['-v'])).trim())
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
    `\n${new Date().toISOString().slice(0, 10)} · ${cpus().length} CPUs (${cpu}) · Node ${nodeVersion} · ${ROUNDS}/${FEW} rounds\n`
  )
  console.log('| scenario | figure | goal | | measured |')
  console.log('| --- | --- | --- | --- | --- |')
  for (const f of figures) console.log(`| ${f.scenario} | ${f.figure} | ${f.goal} | ${verdict(f)} | ${f.details} |`)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
