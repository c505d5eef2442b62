/**
 * `mirror` against real registries (DESIGN §9): tags selected from the source's tag list, pairs
 * split over shards exactly once, an up-to-date re-run that costs two HEADs per tag (counted in
 * the registries' own access logs), dry runs that write nothing, and failures that stop nothing.
 */
import { mirroredObject, resultRows } from '../src/engine/mirror.js'
import { parseMirrorConfig } from '../src/mirror/config.js'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { image, index, listTags, pushFixture, type Fixture } from '../testbed/fixtures.js'
import { registryError, startProxy, type RecordedRequest, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type AccessLogEntry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, skopeoRaw } from '../testbed/tools.js'
import { sha256 } from '../src/digest.js'
import { parseShard } from '../src/mirror/shard.js'
import { mirror } from './helpers/mirror.js'

let a: TestRegistry
let b: TestRegistry
let limited: RecordingProxy

const shared = { seed: 'mirror-base', layers: 2, layerSize: 2048 }
/** Tags of `lib/app` at the source, each its own image (sharing no blob) or an index. */
const appTags: Record<string, Fixture> = {
  '1.25.0': image({ seed: 'app-1.25.0', layers: 1 }),
  '1.25.1': image({ seed: 'app-1.25.1', layers: 1 }),
  '1.26.0': index([image({ seed: 'app-1.26.0-amd64', layers: 1 }), image({ seed: 'app-1.26.0-arm64', layers: 1, architecture: 'arm64' })]),
  '1.26.0-rc.1': image({ seed: 'app-rc', layers: 1 }),
  '2.0.0': image({ seed: 'app-2.0.0', layers: 1 }),
  latest: image({ seed: 'app-latest', layers: 1 })
}
/** Two repositories whose images share every blob. */
const base = image(shared)

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  ;[a, b] = await Promise.all([startRegistry({ accessLog: true }), startRegistry({ accessLog: true })])
  limited = await startProxy(a.port)
  for (const [tag, fixture] of Object.entries(appTags)) await pushFixture(a.host, 'lib/app', fixture, tag)
  await pushFixture(a.host, 'lib/one', base, 'v1')
  await pushFixture(a.host, 'lib/two', base, 'v1')
  for (const tag of ['a', 'b', 'c', 'd', 'e', 'f']) await pushFixture(a.host, 'lib/same', base, tag)
}, 120_000)

beforeEach(async () => {
  // Lines of the previous test's requests come in first.
  await Promise.all([a.accessLog(), b.accessLog()])
  a.clearAccessLog()
  b.clearAccessLog()
  limited.reset()
})

afterAll(async () => {
  await limited?.stop()
  await Promise.all([a, b].map((r) => r?.stop()))
})

const count = (log: AccessLogEntry[], method: string, part = '') => log.filter((e) => e.method === method && e.path.includes(part)).length

describe('tags selected from the source', () => {
  test('semver and deny pick the tags; each lands byte for byte under its own name', async () => {
    const config = `mirrors:
  - source: ${a.host}/lib/app
    destination: ${b.host}/select/app
    tags: { semver: ">=1.25 <2", deny: ['1\\.25\\.0'] }`
    const { result } = await mirror(config)
    expect(result.rows.map((r) => [r.source, r.status])).toEqual([
      [`${a.host}/lib/app:1.25.1`, 'copied'],
      [`${a.host}/lib/app:1.26.0`, 'copied']
    ])
    expect(await listTags(b.host, 'select/app')).toEqual(['1.25.1', '1.26.0'])
    expect(sha256(Buffer.from(await skopeoRaw(`${b.host}/select/app:1.26.0`)))).toBe(appTags['1.26.0'].root.digest)
    expect(result.rows[1]).toMatchObject({ destination: `${b.host}/select/app:1.26.0`, digest: appTags['1.26.0'].root.digest })
  })
})

describe('shards', () => {
  test('two shards of a mirror cover every (tag, destination) exactly once', async () => {
    const config = `mirrors:
  - source: ${a.host}/lib/app
    destination: ${b.host}/sharded/app
    tags: { allow: ['.*'] }
  - source: ${a.host}/lib/app
    destination: ${b.host}/sharded/copy
    tags: [1.25.0, 2.0.0, latest]`
    const first = await mirror(config, { shard: parseShard('0/2') })
    const second = await mirror(config, { shard: parseShard('1/2') })
    const pairs = [...first.result.rows, ...second.result.rows].map((r) => r.destination).sort()
    const expected = [
      ...Object.keys(appTags).map((tag) => `${b.host}/sharded/app:${tag}`),
      ...['1.25.0', '2.0.0', 'latest'].map((tag) => `${b.host}/sharded/copy:${tag}`)
    ].sort()
    expect(pairs).toEqual(expected)
    expect(first.result.rows.length).toBeGreaterThan(0)
    expect(second.result.rows.length).toBeGreaterThan(0)
    expect([...first.result.rows, ...second.result.rows].every((r) => r.status === 'copied')).toBe(true)
    expect((await listTags(b.host, 'sharded/app')).length + (await listTags(b.host, 'sharded/copy')).length).toBe(expected.length)
  })
})

describe('an up-to-date re-run', () => {
  test('two HEADs per tag, nothing uploaded, nothing read but the tag list', async () => {
    const config = `mirrors:
  - source: ${a.host}/lib/app
    destination: ${b.host}/rerun/app
    tags: { semver: ">=1" }`
    const copied = await mirror(config)
    const tags = copied.result.rows.length
    expect(tags).toBe(4)
    await Promise.all([a.accessLog(), b.accessLog()])
    a.clearAccessLog()
    b.clearAccessLog()
    const again = await mirror(config)
    expect(again.result.rows.map((r) => r.status)).toEqual(Array(tags).fill('skipped'))
    expect(again.result.rows.map((r) => r.digest)).toEqual(copied.result.rows.map((r) => r.digest))
    const [src, dest] = [await a.accessLog(), await b.accessLog()]
    // The source: one tag list, one HEAD per tag; the destination: one HEAD per tag. And each one /v2/ ping.
    expect(count(src, 'HEAD', '/manifests/')).toBe(tags)
    expect(count(dest, 'HEAD', '/manifests/')).toBe(tags)
    expect(count(src, 'GET', '/tags/list')).toBe(1)
    expect(src.filter((e) => e.path !== '/v2/' && !e.path.includes('/tags/list') && e.method !== 'HEAD')).toEqual([])
    expect(dest.filter((e) => e.path !== '/v2/' && e.method !== 'HEAD')).toEqual([])
    expect(again.log.filter((l) => l.includes('is up to date with'))).toHaveLength(tags)
  })

  test('the checks are not bounded by mirrorConcurrency: every tag asked at once, two HEADs each', async () => {
    const config = (source: string) => `mirrors:
  - source: ${source}/lib/same
    destination: ${b.host}/wide/same
    tags: { allow: ['.*'] }`
    const tags = 6
    expect((await mirror(config(a.host), { concurrency: 1 })).result.rows.map((r) => r.status)).toEqual(Array(tags).fill('copied'))
    await b.accessLog()
    b.clearAccessLog()
    // The re-run reads the source through the proxy, each request held 200 ms: the most HEADs it holds at once.
    let held = 0
    let most = 0
    const isManifestHead = (r: RecordedRequest) => r.method === 'HEAD' && r.path.includes('/manifests/')
    limited.faults.rules = [
      { match: (r) => (isManifestHead(r) && (most = Math.max(most, ++held)), true), times: Infinity, action: { delayMs: 200 } }
    ]
    limited.faults.editResponse = (r) => void (isManifestHead(r) && held--)
    const again = await mirror(config(limited.host), { concurrency: 1 })
    expect(again.result.rows.map((r) => r.status)).toEqual(Array(tags).fill('skipped'))
    expect(most).toBe(tags)
    expect(limited.requests.filter(isManifestHead)).toHaveLength(tags)
    expect((await b.accessLog()).filter((e) => e.path !== '/v2/').map((e) => e.method)).toEqual(Array(tags).fill('HEAD'))
  })

  test('with platforms, the digest a copy would push is compared: one manifest read, skipped, nothing uploaded', async () => {
    const config = `mirrors:
  - source: ${a.host}/lib/app:1.26.0
    destination: ${b.host}/arm/app
    platforms: [linux/arm64]`
    const first = await mirror(config)
    expect(first.result.rows[0].status).toBe('copied')
    await Promise.all([a.accessLog(), b.accessLog()])
    a.clearAccessLog()
    b.clearAccessLog()
    const again = await mirror(config)
    expect(again.result.rows[0]).toMatchObject({ status: 'skipped', digest: first.result.rows[0].digest })
    // The source: its index alone (not the children); the destination: one HEAD.
    const [src, dest] = [await a.accessLog(), await b.accessLog()]
    expect(src.filter((e) => e.path !== '/v2/')).toEqual([expect.objectContaining({ method: 'GET', path: '/v2/lib/app/manifests/1.26.0' })])
    expect(dest.filter((e) => e.path !== '/v2/')).toEqual([expect.objectContaining({ method: 'HEAD' })])
  })

  test('a source pinned by digest: up to date when the destination holds that digest', async () => {
    const digest = appTags['2.0.0'].root.digest
    const config = `mirrors:
  - source: ${a.host}/lib/app@${digest}
    destination: ${b.host}/pinned/app`
    expect((await mirror(config)).result.rows[0]).toMatchObject({ status: 'copied', digest })
    const again = await mirror(config)
    expect(again.result.rows[0]).toMatchObject({ status: 'skipped', digest, destination: `${b.host}/pinned/app` })
  })
})

describe('dry runs', () => {
  test('plan every pair, write nothing, say what would move', async () => {
    const config = `mirrors:
  - source: ${a.host}/lib/app
    destination: ${b.host}/dry/app
    tags: [1.25.0, 2.0.0]`
    const { result } = await mirror(config, { dryRun: true })
    expect(result.rows.map((r) => r.status)).toEqual(['planned', 'planned'])
    expect(result.rows[0].digest).toBe(appTags['1.25.0'].root.digest)
    expect(result.rows[0].bytes).toBe(appTags['1.25.0'].blobs.reduce((sum, blob) => sum + blob.size, 0))
    expect(await listTags(b.host, 'dry/app')).toEqual([])
    expect((await b.accessLog()).filter((e) => !['HEAD', 'GET'].includes(e.method))).toEqual([])
  })
})

describe('failures', () => {
  test('a failing pair and a failing entry leave the others done, each named', async () => {
    const config = `mirrors:
  - source: ${a.host}/lib/app
    destination: ${b.host}/fail/app
    tags: [1.25.0, 9.9.9]
  - source: ${a.host}/lib/missing
    destination: ${b.host}/fail/missing
    tags: { allow: ['.*'] }
  - source: ${a.host}/lib/app:2.0.0
    destination: ${b.host}/fail/other`
    const { result } = await mirror(config)
    expect(result.rows.map((r) => [r.destination, r.status])).toEqual([
      [`${b.host}/fail/app:1.25.0`, 'copied'],
      [`${b.host}/fail/app:9.9.9`, 'failed'],
      [`${b.host}/fail/other:2.0.0`, 'copied']
    ])
    expect(result.rows[1].error).toMatch(/9\.9\.9.*MANIFEST_UNKNOWN/)
    // A source repository that is not there: the entry fails, named, instead of mirroring nothing.
    expect(result.entryErrors).toEqual([
      { entry: 2, source: `${a.host}/lib/missing`, error: expect.stringMatching(/^list tags .*lib\/missing: 404 NAME_UNKNOWN/) }
    ])
    expect(await listTags(b.host, 'fail/other')).toEqual(['2.0.0'])
  })

  test('failFast stops at the first failure; pairs never started are rows with status not-started', async () => {
    const config = `mirrors:
  - source: ${a.host}/lib/app
    destination: ${b.host}/fast/app
    tags: [9.9.9]
  - source: ${a.host}/lib/app:2.0.0
    destination: ${b.host}/fast/other`
    const { result } = await mirror(config, { failFast: true, concurrency: 1 })
    expect(result.rows.map((r) => `${r.status} ${r.destination}`)).toEqual([
      `failed ${b.host}/fast/app:9.9.9`,
      `not-started ${b.host}/fast/other:2.0.0`
    ])
    expect(mirroredObject(result.rows[0]).error).toMatch(/9\.9\.9/)
    expect(mirroredObject(result.rows[1])).toEqual({
      source: `${a.host}/lib/app:2.0.0`,
      destination: `${b.host}/fast/other:2.0.0`,
      digest: '',
      status: 'not-started',
      bytes: 0
    })
    expect(await listTags(b.host, 'fast/other')).toEqual([])
  })

  test('failFast stopping before an entry is listed: that entry is a not-started row of the output', async () => {
    const text = `mirrors:
  - source: ${a.host}/lib/nothing-here
    destination: ${b.host}/fast2/nothing
    tags: { allow: ['.*'] }
  - source: ${a.host}/lib/app
    destination: ${b.host}/fast2/app
    tags: { allow: ['.*'] }`
    const { result } = await mirror(text, { failFast: true, concurrency: 1 })
    expect(result.entryErrors.map((e) => e.entry)).toEqual([1])
    const rows = resultRows(result, parseMirrorConfig(text))
    expect(rows.map((r) => `${r.status} ${r.destination}`)).toEqual([`failed ${b.host}/fast2/nothing`, `not-started ${b.host}/fast2/app`])
  })

  test('a spent pull limit (429, RateLimit-Remaining: 0) is named as such, at once, not retried', async () => {
    limited.faults.answer = (r) =>
      r.method === 'HEAD' || r.path.includes('/manifests/')
        ? {
            ...registryError(429, 'TOOMANYREQUESTS', 'You have reached your pull rate limit'),
            headers: { 'content-type': 'application/json', 'ratelimit-remaining': '0;w=21600', 'retry-after': '3600' }
          }
        : undefined
    const config = `mirrors:
  - source: ${limited.host}/lib/app:2.0.0
    destination: ${b.host}/limited/app`
    const { result } = await mirror(config)
    limited.faults.answer = undefined
    expect(result.rows[0].status).toBe('failed')
    expect(result.rows[0].error).toMatch(/pull limit of 127\.0\.0\.1:\d+ for anonymous users is reached; it resets in about 1 h:/)
    expect(limited.requests.filter((r) => r.path.includes('/manifests/'))).toHaveLength(1)
  })
})

describe('tag lists', () => {
  test('a Link that leads back to a page already read ends the listing with an error naming the entry', async () => {
    limited.faults.answer = (r) =>
      r.path.includes('/tags/list')
        ? {
            status: 200,
            headers: { 'content-type': 'application/json', link: `</v2/lib/app/tags/list?n=1000>; rel="next"` },
            body: JSON.stringify({ name: 'lib/app', tags: ['1.25.0'] })
          }
        : undefined
    const config = `mirrors:
  - source: ${limited.host}/lib/app
    destination: ${b.host}/loop/app
    tags: { allow: ['.*'] }`
    const { result } = await mirror(config)
    limited.faults.answer = undefined
    expect(result.rows).toEqual([])
    expect(result.entryErrors).toEqual([
      { entry: 1, source: `${limited.host}/lib/app`, error: expect.stringMatching(/links back to a page it gave already/) }
    ])
    expect(limited.requests.filter((r) => r.path.includes('/tags/list'))).toHaveLength(2)
  })
})

describe('blobs shared between entries', () => {
  test('tags sharing their blobs, copied side by side into one repository: each blob uploaded once', async () => {
    const config = `mirrors:
  - source: ${a.host}/lib/same
    destination: ${b.host}/same/app
    tags: { allow: ['.*'] }`
    const { result } = await mirror(config, { concurrency: 4 })
    expect(result.rows.map((r) => r.status)).toEqual(Array(6).fill('copied'))
    const dest = await b.accessLog()
    expect(count(dest, 'PUT', '/blobs/uploads/')).toBe(base.blobs.length)
    expect(await listTags(b.host, 'same/app')).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
  })

  test('cross the network once per destination registry: the second repository mounts them', async () => {
    const config = `mirrors:
  - source: ${a.host}/lib/one:v1
    destination: ${b.host}/shared/one
  - source: ${a.host}/lib/two:v1
    destination: ${b.host}/shared/two`
    const { result } = await mirror(config, { concurrency: 2 })
    expect(result.rows.map((r) => r.status)).toEqual(['copied', 'copied'])
    const dest = await b.accessLog()
    const blobs = base.blobs.length
    // Every blob uploaded once (POST + PUT) and mounted once into the other repository.
    expect(count(dest, 'PUT', '/blobs/uploads/')).toBe(blobs)
    expect(dest.filter((e) => e.method === 'POST' && e.path.includes('mount=') && e.status === 201)).toHaveLength(blobs)
    expect(result.rows.reduce((sum, r) => sum + r.bytes, 0)).toBe(base.blobs.reduce((sum, blob) => sum + blob.size, 0))
  })
})
