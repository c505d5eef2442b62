/**
 * The mirror's scenarios: a re-run of 200 tags that are up to date (requests per tag), and the
 * same at scale — 1,000 tags over 4 shards, each shard its own run of the action — in round
 * trips per shard.
 */
import type { RecordedRequest } from '../testbed/proxy.js'
import { type Bench, counted, DELAY_MS, delayEverything, dockerConfig, FEW, hosts, middle, record } from './context.js'
import { pushManyTags } from './fixtures.js'
import { ours, roundTrips, rounds, seconds, spread, type Sample } from './measure.js'

const TAGS = 200
/** `mirrorConcurrency`'s default. */
const MIRROR_CONCURRENCY = 4
const SCALE_TAGS = 1000
const SHARDS = 4
/** Round trips a shard's re-run may take: tag list pages, pings and the waves of HEADs. */
const SHARD_TRIPS = 25

/** 5. A mirror re-run of many tags, all up to date: requests per tag, and wall time in round trips. */
export async function mirrorRerun(bench: Bench): Promise<void> {
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
        writes += all.filter(isWrite).length
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
    details: `${middle(requests)} requests in all (${heads} manifest HEADs, the rest per run: pings, tag list); ${writes} writes; wall ${spread(s.delayed)} at +${DELAY_MS} ms (${roundTrips(s.direct, s.delayed, DELAY_MS).toFixed(0)} round trips over the direct ${spread(s.direct)}); ${firstRun(first)}`
  })
}

/**
 * 5b. Mirror at scale: 1,000 tags up to date, split over 4 shards, each shard a run of the action
 * of its own, one after another. Every run goes through the proxies (held {@link DELAY_MS} or not
 * at all): a pair's shard is a hash of its hosts, so each shard has the same pairs in both.
 */
export async function mirrorAtScale(bench: Bench): Promise<void> {
  await pushManyTags(bench.open.host, 'bench/scale', SCALE_TAGS, { distinct: false })
  const env = { DOCKER_CONFIG: await dockerConfig(bench) }
  const mirror = (shard?: number) => {
    const source = `${bench.slowOpen.host}/bench/scale`
    const config = { mirrors: [{ source, destination: `${bench.slowSecured.host}/s5b/scale`, tags: { allow: ['.*'] } }] }
    const split: Record<string, string> = shard === undefined ? { mirrorConcurrency: '16' } : { shard: `${shard}/${SHARDS}` }
    return ours({ mirror: JSON.stringify(config), ...split }, env)
  }
  delayEverything(bench, 0)
  try {
    const first = await mirrorUntilDone(() => mirror())
    const all: number[] = []
    const onManifests: number[] = []
    let writes = 0
    const shards = Array.from({ length: SHARDS }, (_, i) => i)
    const direct = (i: number) => async () => {
      delayEverything(bench, 0)
      return mirror(i)
    }
    const delayed = (i: number) => async (round: number) => {
      bench.slowOpen.reset()
      bench.slowSecured.reset()
      delayEverything(bench)
      const sample = await mirror(i)
      const seen = [...bench.slowOpen.requests, ...bench.slowSecured.requests]
      all[round] = (all[round] ?? 0) + seen.length
      onManifests[round] = (onManifests[round] ?? 0) + seen.filter((q) => q.path.includes('/manifests/')).length
      writes += seen.filter(isWrite).length
      return sample
    }
    const s = await rounds(
      FEW,
      Object.fromEntries(
        shards.flatMap((i) => [
          [`direct${i}`, direct(i)],
          [`delayed${i}`, delayed(i)]
        ])
      )
    )
    const trips = shards.map((i) => roundTrips(s[`direct${i}`], s[`delayed${i}`], DELAY_MS))
    // The whole wall time at +100 ms in round trips: Node's start and the local work counted too, an upper bound.
    const walls = shards.map((i) => seconds(s[`delayed${i}`]) / (DELAY_MS / 1000))
    const worst = Math.max(...walls)
    const perTag = middle(onManifests) / SCALE_TAGS
    const list = (values: number[]) => values.map((t) => t.toFixed(1)).join(', ')
    record({
      scenario: `5b mirror at scale: re-run of ${SCALE_TAGS} tags up to date, ${SHARDS} shards, +${DELAY_MS} ms`,
      figure: `${Math.max(...trips).toFixed(1)} round trips for the slowest shard (median ${middle(trips).toFixed(1)}), at most ${worst.toFixed(1)} of wall time; ${perTag.toFixed(2)} requests per tag`,
      goal: `≤ ${SHARD_TRIPS} per shard; ≤ 2 per tag`,
      met: worst <= SHARD_TRIPS && perTag <= 2 && writes === 0,
      details:
        `round trips per shard ${list(trips)} (the wall at +${DELAY_MS} ms less the direct one), the whole wall ${list(walls)}; ` +
        `at +${DELAY_MS} ms ${shards.map((i) => spread(s[`delayed${i}`])).join(', ')}, direct ${shards.map((i) => spread(s[`direct${i}`])).join(', ')}; ` +
        `${middle(all)} requests for the ${SHARDS} shards (${middle(onManifests)} on manifests, the rest each shard's pings and tag list); ${writes} writes; ${firstRun(first)}`
    })
  } finally {
    delayEverything(bench)
  }
}

const isWrite = (q: RecordedRequest) => q.method !== 'GET' && q.method !== 'HEAD'

type FirstRun = { sample: Sample; failures: string[] }

const firstRun = (first: FirstRun) =>
  `first mirror ${first.sample.seconds.toFixed(1)} s${first.failures.length ? ` after ${first.failures.length} failed run(s): ${first.failures.join('; ')}` : ''}`

/**
 * The mirror that sets the re-run up, run again while it fails (at most 3 times): what it left
 * out the next run copies. Each failure's last line is kept for the report.
 */
async function mirrorUntilDone(run: () => Promise<Sample>): Promise<FirstRun> {
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
