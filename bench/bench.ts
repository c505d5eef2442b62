/**
 * `npm run bench`: oci-push side by side with skopeo on the same loopback registries, in alternate
 * order, several rounds; medians, min/max, our time ÷ skopeo's, and the peak RSS of each, with the
 * targets of the speed work. Timing lives here, never in tests.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fastNoise, index, makeBlob, pushFixture, sha256, type Blob, type Fixture } from '../testbed/fixtures.js'
import { startProxy, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry } from '../testbed/registry.js'
import { writeTar } from '../testbed/tarballs.js'
import { requireTools, run } from '../testbed/tools.js'

const MiB = 1024 * 1024
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const LATENCY_MS = 30
const ACTION = resolve('dist/index.js')
/** BENCH_SCENARIOS=1,3 runs only those (all by default). */
const ONLY = new Set((process.env.BENCH_SCENARIOS ?? '1,2,3,4,5,6,7').split(',').map((s) => s.trim()))

interface Sample {
  seconds: number
  rssMiB: number
  requests?: number
}

/** Runs a command under GNU time: wall seconds (measured here) and peak RSS. */
async function measure(command: string[], env: NodeJS.ProcessEnv = {}): Promise<Sample> {
  const started = process.hrtime.bigint()
  const child = spawn('/usr/bin/time', ['-f', 'BENCH-RSS %M', ...command], {
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
  const rss = Number(/BENCH-RSS (\d+)/.exec(stderr)?.[1] ?? 0) / 1024
  return { seconds, rssMiB: rss }
}

/** oci-push as the runner runs it. */
function ours(inputs: Record<string, string>): Promise<Sample> {
  const env = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]))
  return measure([process.execPath, ACTION], { ...env, GITHUB_OUTPUT: '/dev/null', RUNNER_DEBUG: '' })
}

/** skopeo with an empty blob-info cache (a tmpfs in a private mount namespace), so it cannot mount from memory. */
function skopeo(...commands: string[][]): Promise<Sample> {
  const script = [
    'mount -t tmpfs x /var/lib/containers/cache',
    ...commands.map((args) => `skopeo ${args.map((a) => `'${a}'`).join(' ')}`)
  ].join(' && ')
  return measure(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script])
}

const copyArgs = (src: string, dest: string, all = false, destCreds?: string) => [
  'copy',
  '--quiet',
  ...(all ? ['--all'] : []),
  ...(destCreds ? ['--dest-creds', destCreds] : []),
  '--src-tls-verify=false',
  '--dest-tls-verify=false',
  src,
  dest
]

/** An image whose layers are incompressible bytes of the given sizes (their media type says gzip; nothing checks). */
function bigImage(seed: string, sizes: readonly number[]): Fixture {
  const layers = sizes.map((size, i) => makeBlob('application/vnd.oci.image.layer.v1.tar+gzip', fastNoise(`${seed}/${i}`, size)))
  const config = makeBlob(
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }))
  )
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptorOf(config),
    layers: layers.map(descriptorOf)
  }
  return { root: makeBlob(manifest.mediaType, Buffer.from(JSON.stringify(manifest))), children: [], blobs: [config, ...layers] }
}

function descriptorOf(blob: Blob): { mediaType: string; digest: string; size: number } {
  return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

interface Row {
  scenario: string
  ours: Sample[]
  skopeo: Sample[]
  bound?: Sample[]
  targets: Array<[string, boolean]>
}

const rows: Row[] = []

/** Runs `oursRun` and `skopeoRun` alternately for `rounds` rounds; each gets the round number. */
async function compare(
  scenario: string,
  rounds: number,
  oursRun: (round: number) => Promise<Sample>,
  skopeoRun: (round: number) => Promise<Sample>
): Promise<Row> {
  const row: Row = { scenario, ours: [], skopeo: [], targets: [] }
  if (!ONLY.has(scenario.split(' ')[0])) return row
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      row.ours.push(await oursRun(round))
      row.skopeo.push(await skopeoRun(round))
    } else {
      row.skopeo.push(await skopeoRun(round))
      row.ours.push(await oursRun(round))
    }
    process.stderr.write('.')
  }
  rows.push(row)
  return row
}

const ratio = (row: Row) => median(row.ours.map((s) => s.seconds)) / median(row.skopeo.map((s) => s.seconds))

/** The relay bound: curl GET of each layer piped into a streamed curl PUT, all layers at once, no hashing. */
async function relay(source: string, repo: string, dest: string, blobs: readonly Blob[]): Promise<Sample> {
  const commands = await Promise.all(
    blobs.map(async (blob) => {
      const res = await fetch(`http://${dest}/v2/${repo}/blobs/uploads/`, { method: 'POST' })
      await res.arrayBuffer()
      const location = new URL(res.headers.get('location') ?? '', `http://${dest}`)
      location.searchParams.set('digest', blob.digest)
      return `curl -sf http://${source}/v2/bench/big/blobs/${blob.digest} | curl -sf -T - -H 'Content-Type: application/octet-stream' '${location.href}' &`
    })
  )
  return measure(['sh', '-c', `${commands.join('\n')}\nwait`])
}

async function main(): Promise<void> {
  await requireTools(['docker-registry', 'skopeo', 'curl', 'unshare', '/usr/bin/time'])
  await run('mkdir', ['-p', '/var/lib/containers/cache'])
  const login = { username: 'bench', password: 'bench-password' }
  const [open, secured] = await Promise.all([startRegistry(), startRegistry({ htpasswd: login })])
  const slowOpen = await startProxy(open.port)
  const slowSecured = await startProxy(secured.port)
  const proxies: RecordingProxy[] = [slowOpen, slowSecured]
  for (const proxy of proxies) proxy.faults.rules = [{ match: () => true, times: Infinity, action: { delayMs: LATENCY_MS } }]
  const work = await mkdtemp(join(tmpdir(), 'oci-push-bench-'))
  const creds = `${login.username}:${login.password}`
  try {
    console.error('Building fixtures…')
    const big = bigImage('bench-big', [1 * MiB, 64 * MiB, 256 * MiB])
    await pushFixture(open.host, 'bench/big', big, 'v1')
    const platforms = ['amd64', 'arm64', 's390x', 'ppc64le'].map((arch) => {
      const image = bigImage(`bench-${arch}`, [256 * 1024, 256 * 1024, 256 * 1024, 256 * 1024])
      const config = makeBlob('application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify({ architecture: arch, os: 'linux' })))
      const manifest = JSON.parse(image.root.bytes.toString()) as Record<string, unknown>
      manifest.config = descriptorOf(config)
      return {
        root: makeBlob(image.root.mediaType, Buffer.from(JSON.stringify(manifest))),
        children: [],
        blobs: [config, ...image.blobs.slice(1)]
      }
    })
    const multi = index(platforms)
    await pushFixture(open.host, 'bench/multi', multi, 'v1')
    const dockerSave = join(work, 'big.docker.tar')
    const layers = [1 * MiB, 64 * MiB, 256 * MiB].map((size, i) => fastNoise(`bench-save/${i}`, size))
    const saveConfig = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } })
    )
    await writeTar(dockerSave, [
      ...layers.map((body, i) => ({ name: `l${i}/layer.tar`, body })),
      { name: 'config.json', body: saveConfig },
      {
        name: 'manifest.json',
        body: JSON.stringify([{ Config: 'config.json', RepoTags: ['bench/save:v1'], Layers: layers.map((_, i) => `l${i}/layer.tar`) }])
      }
    ])
    const ociArchive = join(work, 'big.oci.tar')
    await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${open.host}/bench/big:v1`, `oci-archive:${ociArchive}:v1`])
    console.error(`Fixtures ready. ${ROUNDS} rounds for scenario 1, ${Math.max(3, Math.ceil(ROUNDS / 2) + 1)} for the others.\n`)
    const rounds = Math.max(3, Math.ceil(ROUNDS / 2) + 1)

    // 1. reg → reg, ~321 MiB, fresh destination repository each run; and the relay bound.
    const s1 = await compare(
      '1 reg→reg 321 MiB image',
      ROUNDS,
      (r) =>
        ours({
          srcRef: `${open.host}/bench/big:v1`,
          destRef: `${secured.host}/s1/ours-${r}:v1`,
          username: login.username,
          password: login.password,
          maxArtifactSize: '-1'
        }),
      (r) => skopeo(copyArgs(`docker://${open.host}/bench/big:v1`, `docker://${secured.host}/s1/skopeo-${r}:v1`, false, creds))
    )
    const bound: Sample[] = []
    for (let r = 0; r < (ONLY.has('1') ? ROUNDS : 0); r++)
      bound.push(await relay(open.host, `s1/relay-${r}`, open.host, big.blobs.slice(1)))
    s1.bound = bound
    const boundRatio = median(s1.ours.map((s) => s.seconds)) / median(bound.map((s) => s.seconds))
    s1.targets = [
      ['≤ 0.85× skopeo', ratio(s1) <= 0.85],
      [`≤ 1.10× relay bound (${boundRatio.toFixed(2)}×)`, boundRatio <= 1.1],
      ['peak RSS ≤ 128 MiB', median(s1.ours.map((s) => s.rssMiB)) <= 128]
    ]

    // 2. A 4-platform index through a link adding 30 ms to every request on both sides.
    const s2 = await compare(
      `2 reg→reg index, +${LATENCY_MS} ms`,
      rounds,
      (r) =>
        ours({
          srcRef: `${slowOpen.host}/bench/multi:v1`,
          destRef: `${slowSecured.host}/s2/ours-${r}:v1`,
          username: login.username,
          password: login.password
        }),
      (r) => skopeo(copyArgs(`docker://${slowOpen.host}/bench/multi:v1`, `docker://${slowSecured.host}/s2/skopeo-${r}:v1`, true, creds))
    )
    s2.targets = [['≤ 0.5× skopeo', ratio(s2) <= 0.5]]

    // 3. Same-repository retag of that index over the same link; requests counted.
    const counted = (runner: () => Promise<Sample>) => async () => {
      slowOpen.requests.length = 0
      const sample = await runner()
      return { ...sample, requests: slowOpen.requests.length }
    }
    let blobRequests = 0
    const s3 = await compare(
      `3 retag in place, +${LATENCY_MS} ms`,
      rounds,
      (r) =>
        counted(async () => {
          const sample = await ours({ srcRef: `${slowOpen.host}/bench/multi:v1`, destRef: `${slowOpen.host}/bench/multi:ours-${r}` })
          blobRequests += slowOpen.requests.filter((q) => q.path.includes('/blobs/')).length
          return sample
        })(),
      (r) =>
        counted(() =>
          skopeo(copyArgs(`docker://${slowOpen.host}/bench/multi:v1`, `docker://${slowOpen.host}/bench/multi:skopeo-${r}`, true))
        )()
    )
    s3.targets = [
      ['≤ 0.3× skopeo', ratio(s3) <= 0.3],
      [`no blob request (${blobRequests})`, blobRequests === 0]
    ]

    // 4. Same registry, new repository: mounts.
    const s4 = await compare(
      '4 same registry, new repository',
      rounds,
      (r) => ours({ srcRef: `${open.host}/bench/big:v1`, destRef: `${open.host}/s4/ours-${r}:v1`, maxArtifactSize: '-1' }),
      (r) => skopeo(copyArgs(`docker://${open.host}/bench/big:v1`, `docker://${open.host}/s4/skopeo-${r}:v1`))
    )
    s4.targets = [['≤ skopeo', ratio(s4) <= 1]]

    // 5. docker save → reg. 6. oci-archive → reg.
    const s5 = await compare(
      '5 docker save 321 MiB → reg',
      rounds,
      (r) => ours({ archive: dockerSave, destRef: `${open.host}/s5/ours-${r}`, maxArtifactSize: '-1' }),
      (r) => skopeo(copyArgs(`docker-archive:${dockerSave}`, `docker://${open.host}/s5/skopeo-${r}:v1`))
    )
    s5.targets = [
      ['≤ skopeo', ratio(s5) <= 1],
      ['peak RSS ≤ 200 MiB', median(s5.ours.map((s) => s.rssMiB)) <= 200]
    ]
    const s6 = await compare(
      '6 oci-archive 321 MiB → reg',
      rounds,
      (r) => ours({ archive: ociArchive, destRef: `${open.host}/s6/ours-${r}:v1`, maxArtifactSize: '-1' }),
      (r) => skopeo(copyArgs(`oci-archive:${ociArchive}:v1`, `docker://${open.host}/s6/skopeo-${r}:v1`))
    )
    s6.targets = [['≤ skopeo', ratio(s6) <= 1]]

    // 7. One source to three repositories on one registry: blob bytes uploaded once.
    const uploads = await startProxy(secured.port)
    proxies.push(uploads)
    let uploadedOnce = true
    const s7 = await compare(
      '7 one source → three repositories',
      rounds,
      async (r) => {
        uploads.requests.length = 0
        const dests = [1, 2, 3].map((n) => `${uploads.host}/s7/ours-${r}-${n}:v1`).join('\n')
        const sample = await ours({
          srcRef: `${open.host}/bench/big:v1`,
          destRef: dests,
          username: login.username,
          password: login.password,
          maxArtifactSize: '-1'
        })
        uploadedOnce &&=
          uploads.requests.filter((q) => q.method === 'PUT' && q.path.includes('/blobs/uploads/')).length === big.blobs.length
        return sample
      },
      (r) =>
        skopeo(
          ...[1, 2, 3].map((n) =>
            copyArgs(`docker://${open.host}/bench/big:v1`, `docker://${secured.host}/s7/skopeo-${r}-${n}:v1`, false, creds)
          )
        )
    )
    s7.targets = [['blob bytes uploaded once per registry', uploadedOnce]]

    report()
  } finally {
    await Promise.all(proxies.map((p) => p.stop()))
    await Promise.all([open.stop(), secured.stop()])
    await rm(work, { recursive: true, force: true })
  }
}

function report(): void {
  const fmt = (values: number[], digits = 2) =>
    `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`
  console.log(
    '\nscenario                               | oci-push s med (min–max) | skopeo s med (min–max) | ratio | RSS MiB ours / skopeo | targets'
  )
  console.log(
    '---------------------------------------|--------------------------|------------------------|-------|-----------------------|--------'
  )
  for (const row of rows.filter((r) => r.ours.length > 0)) {
    const rss = `${median(row.ours.map((s) => s.rssMiB)).toFixed(0)} / ${median(row.skopeo.map((s) => s.rssMiB)).toFixed(0)}`
    const targets = row.targets.map(([name, met]) => `${met ? 'met' : 'MISSED'}: ${name}`).join('; ')
    console.log(
      `${row.scenario.padEnd(38)} | ${fmt(row.ours.map((s) => s.seconds)).padEnd(24)} | ${fmt(row.skopeo.map((s) => s.seconds)).padEnd(22)} | ${ratio(row).toFixed(2).padStart(5)} | ${rss.padEnd(21)} | ${targets}`
    )
    if (row.bound) console.log(`${'  relay bound (curl | curl)'.padEnd(38)} | ${fmt(row.bound.map((s) => s.seconds)).padEnd(24)} |`)
    const requests = row.ours.map((s) => s.requests).filter((n): n is number => n !== undefined)
    if (requests.length)
      console.log(`${'  HTTP requests ours / skopeo'.padEnd(38)} | ${median(requests)} / ${median(row.skopeo.map((s) => s.requests ?? 0))}`)
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
