/**
 * Faults a registry on the internet throws at a copy, made by the test bed's proxy in front of
 * real registries: transient answers and resets are retried (uploads restarted from the source),
 * persistent ones end the copy promptly and cleanly, and what hosted registries do differently
 * from CNCF distribution (Location forms, PUT statuses) is handled.
 */
import { createServer } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { ConnectionError, ContentError, RegistryError, SourceError } from '../src/errors.js'
import { runAction } from '../testbed/action.js'
import { image, index, listTags, pushFixture } from '../testbed/fixtures.js'
import { registryError, startProxy, type RecordedRequest, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, skopeoPullAll, skopeoRaw } from '../testbed/tools.js'
import { copy, FAST_RETRY } from './helpers/copy.js'

let src: TestRegistry
let dst: TestRegistry
let srcProxy: RecordingProxy
let dstProxy: RecordingProxy
const amd64 = image({ seed: 'fault-amd64', layers: 3, layerSize: 64 * 1024 })
const arm64 = image({ seed: 'fault-arm64', layers: 3, layerSize: 64 * 1024, architecture: 'arm64' })
const multi = index([amd64, arm64])
const blobCount = multi.blobs.length

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  ;[src, dst] = await Promise.all([startRegistry(), startRegistry()])
  ;[srcProxy, dstProxy] = await Promise.all([startProxy(src.port), startProxy(dst.port)])
  await pushFixture(src.host, 'app', multi, 'v1')
}, 60_000)

afterAll(async () => {
  await Promise.all([srcProxy?.stop(), dstProxy?.stop()])
  await Promise.all([src, dst].map((r) => r?.stop()))
})

beforeEach(() => {
  srcProxy.reset()
  dstProxy.reset()
})

const blobGet = (r: RecordedRequest) => r.method === 'GET' && r.path.includes('/blobs/sha256:')
const blobPut = (r: RecordedRequest) => r.method === 'PUT' && r.path.includes('/blobs/uploads/')
const uploadStart = (r: RecordedRequest) => r.method === 'POST' && r.path.includes('/blobs/uploads/')
const manifestGet = (r: RecordedRequest) => r.method === 'GET' && r.path.includes('/manifests/')
const mountRequest = (r: RecordedRequest) => r.method === 'POST' && r.path.includes('mount=')
/** A blob upload (PUT) of `digest`, however the client encoded the digest in the query. */
const uploadOf = (digest: string) => (r: RecordedRequest) =>
  blobPut(r) && (r.path.includes(digest) || r.path.includes(digest.replace(':', '%3A')))
/** A loopback port nothing listens on (any more). */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as Error
  )

describe('transient faults are retried', () => {
  test('a flaky source and a flaky destination: the copy ends with the exact source digest', async () => {
    srcProxy.faults.rules = [
      { match: manifestGet, times: 1, action: { reset: true } },
      { match: blobGet, times: 2, action: { status: 503, retryAfter: '0' } },
      { match: blobGet, times: 1, action: { cutBody: true } }
    ]
    dstProxy.faults.rules = [
      { match: uploadStart, times: 1, action: { status: 502 } },
      { match: blobPut, times: 1, action: { status: 500 } },
      { match: (r) => r.method === 'HEAD', times: 1, action: { status: 429, retryAfter: '1' } },
      { match: blobPut, times: 1, action: { reset: true } }
    ]
    const log: string[] = []
    const result = await copy(`${srcProxy.host}/app:v1`, `${dstProxy.host}/flaky/app:v1`, { log })
    expect(result.digest).toBe(multi.root.digest)
    expect(await skopeoRaw(`${dst.host}/flaky/app:v1`)).toBe(multi.root.bytes.toString())
    await skopeoPullAll(`${dst.host}/flaky/app:v1`)
    // Every rule fired, and the copy went on after each.
    for (const rule of [...srcProxy.faults.rules, ...dstProxy.faults.rules]) expect(rule.hits).toBe(rule.times)
    expect(log.filter((line) => line.includes('trying again') || line.includes('again from the source')).length).toBeGreaterThanOrEqual(5)
    expect(result.stats.blobsUploaded).toBe(blobCount)
  })

  test('Retry-After is honoured (capped by the policy)', async () => {
    dstProxy.faults.rules = [
      { match: (r) => r.method === 'HEAD' && r.path.includes('/manifests/'), times: 1, action: { status: 503, retryAfter: '1' } }
    ]
    const started = Date.now()
    await copy(`${src.host}/app@${amd64.root.digest}`, `${dstProxy.host}/retry-after/app:v1`, {
      retry: { ...FAST_RETRY, retryAfterCapMs: 400 }
    })
    expect(Date.now() - started).toBeGreaterThanOrEqual(400)
  })
  test('an upload that breaks after longer than the time budget is restarted from the source', async () => {
    const victim = amd64.blobs[1].digest
    // The first upload of the blob is held past the whole budget, then a gateway gives up on it.
    dstProxy.faults.rules = [{ match: uploadOf(victim), times: 1, action: { delayMs: 300 } }]
    let cut = 0
    dstProxy.faults.answer = (r) => (uploadOf(victim)(r) && cut++ === 0 ? registryError(504, 'UNAVAILABLE', 'gateway timeout') : undefined)
    const log: string[] = []
    const result = await copy(`${src.host}/app@${amd64.root.digest}`, `${dstProxy.host}/budget/app:v1`, {
      log,
      retry: { ...FAST_RETRY, totalMs: 100 }
    })
    expect(result.digest).toBe(amd64.root.digest)
    expect(dstProxy.requests.filter(uploadOf(victim))).toHaveLength(2)
    expect(log.filter((line) => line.includes(`uploading ${victim} again from the source`))).toHaveLength(1)
    await skopeoPullAll(`${dst.host}/budget/app:v1`)
  })
})

describe('one layer of retries', () => {
  const retried = (line: string) => line.includes('trying again') || line.includes('again from the source')

  test('a manifest GET answered 503 every time is sent `attempts` times, not attempts squared', async () => {
    srcProxy.faults.rules = [{ match: manifestGet, times: Infinity, action: { status: 503 } }]
    const log: string[] = []
    const error = await failure(copy(`${srcProxy.host}/app:v1`, `${dst.host}/layers/app:v1`, { log }))
    expect((error as RegistryError).status).toBe(503)
    expect(srcProxy.requests.filter(manifestGet)).toHaveLength(FAST_RETRY.attempts)
    expect(log.filter(retried)).toEqual(
      Array.from({ length: FAST_RETRY.attempts - 1 }, (_, i) => expect.stringContaining(`(${i + 2} of ${FAST_RETRY.attempts})`))
    )
  })

  test.each([
    ['the POST that opens an upload', 'destination', uploadStart],
    ["the source's blob GET", 'source', blobGet]
  ] as const)('%s answered 503 every time is sent `attempts` times, not restarted with the upload', async (_name, side, match) => {
    const proxy = side === 'source' ? srcProxy : dstProxy
    proxy.faults.rules = [{ match, times: Infinity, action: { status: 503 } }]
    const from = side === 'source' ? srcProxy.host : src.host
    const to = side === 'source' ? dst.host : dstProxy.host
    const error = await failure(copy(`${from}/app:v1`, `${to}/layers-${side}/app:v1`, { concurrency: 1 }))
    expect((error as RegistryError).status).toBe(503)
    expect(proxy.requests.filter(match)).toHaveLength(FAST_RETRY.attempts)
  })

  test('an unreachable host is tried `attempts` times in all, in one round', async () => {
    const port = await closedPort()
    const log: string[] = []
    const error = await failure(copy(`127.0.0.1:${port}/app:v1`, `${dst.host}/unreachable/app:v1`, { log }))
    expect(error).toBeInstanceOf(ConnectionError)
    // Each connection that failed is logged (at debug level) once.
    expect(log.filter((line) => line.startsWith('GET ') && line.includes('ECONNREFUSED'))).toHaveLength(FAST_RETRY.attempts)
    expect(log.filter(retried)).toEqual(
      Array.from({ length: FAST_RETRY.attempts - 1 }, (_, i) => expect.stringContaining(`(${i + 2} of ${FAST_RETRY.attempts})`))
    )
  })
})

describe('persistent faults end the copy promptly and cleanly', () => {
  test('a persistent 500 on one blob upload: bounded time, one line naming it, no tag, sessions cancelled', async () => {
    const victim = amd64.blobs[1].digest
    dstProxy.faults.rules = [
      {
        match: uploadOf(victim),
        times: Infinity,
        action: { status: 500 }
      }
    ]
    const started = Date.now()
    const error = await failure(copy(`${src.host}/app:v1`, `${dstProxy.host}/persistent/app:v1`))
    expect(Date.now() - started).toBeLessThan(FAST_RETRY.totalMs)
    expect(error).toBeInstanceOf(RegistryError)
    expect(error?.message).toMatch(
      new RegExp(`^upload blob 127\\.0\\.0\\.1:\\d+/persistent/app@${victim}: 500 UNAVAILABLE: injected fault$`)
    )
    expect(dstProxy.faults.rules[0].hits).toBe(FAST_RETRY.attempts)
    expect(await listTags(dst.host, 'persistent/app')).toEqual([])
    // Each failed upload's session was cancelled.
    expect(dstProxy.requests.filter((r) => r.method === 'DELETE' && r.path.includes('/blobs/uploads/')).length).toBeGreaterThanOrEqual(
      FAST_RETRY.attempts
    )
  })

  test('a failure while a slow upload is in flight returns at once, with the first error', async () => {
    const slow = amd64.blobs[2].digest
    const refused = arm64.blobs[2].digest
    dstProxy.faults.rules = [
      { match: uploadOf(slow), times: Infinity, action: { delayMs: 30_000 } },
      { match: uploadOf(refused), times: Infinity, action: { status: 400 } }
    ]
    const started = Date.now()
    const error = await failure(copy(`${src.host}/app:v1`, `${dstProxy.host}/slow/app:v1`, { concurrency: blobCount }))
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).status).toBe(400)
    expect(error?.message).toContain(refused)
    expect(await listTags(dst.host, 'slow/app')).toEqual([])
  })

  test('a source that breaks mid-blob every time is reported as a source error', async () => {
    const victim = arm64.blobs[1].digest
    srcProxy.faults.rules = [{ match: (r) => blobGet(r) && r.path.endsWith(victim), times: Infinity, action: { cutBody: true } }]
    const error = await failure(copy(`${srcProxy.host}/app:v1`, `${dst.host}/cut/app:v1`))
    expect(error).toBeInstanceOf(SourceError)
    expect(error?.message).toMatch(new RegExp(`^read blob 127\\.0\\.0\\.1:${srcProxy.host.split(':')[1]}/app@${victim}: `))
    expect(error?.message).not.toContain(dst.host)
    expect(await listTags(dst.host, 'cut/app')).toEqual([])
  })

  test('a corrupted blob is not retried: refused, nothing tagged', async () => {
    srcProxy.faults.corruptBlobs = true
    const error = await failure(copy(`${srcProxy.host}/app:v1`, `${dst.host}/corrupt/app:v1`))
    expect(error).toBeInstanceOf(ContentError)
    expect(srcProxy.requests.filter(blobGet).length).toBeLessThanOrEqual(blobCount)
    expect(await listTags(dst.host, 'corrupt/app')).toEqual([])
  })

  test('a 4xx other than 401/408/429 is final at once', async () => {
    dstProxy.faults.rules = [{ match: uploadStart, times: Infinity, action: { status: 403 } }]
    await failure(copy(`${src.host}/app:v1`, `${dstProxy.host}/final/app:v1`, { concurrency: 1 }))
    expect(dstProxy.requests.filter(uploadStart)).toHaveLength(1)
  })
})

describe('several destinations', () => {
  test('a tag refused after another was written: the error line and the summary say which was written', async () => {
    dstProxy.faults.rules = [
      { match: (r) => r.method === 'PUT' && r.path.endsWith('/manifests/two'), times: Infinity, action: { status: 403 } }
    ]
    const result = await runAction({
      srcRef: `${src.host}/app:v1`,
      destRef: `${dstProxy.host}/partial/app:one\n${dstProxy.host}/partial/app:two`
    })
    expect(result.exitCode).toBe(1)
    const errors = result.stdout.split('\n').filter((l) => l.startsWith('::error'))
    expect(errors).toEqual([expect.stringMatching(new RegExp(`403 .*; written before the failure: ${dstProxy.host}/partial/app:one$`))])
    expect(result.summary).toContain('oci-push failed')
    expect(result.summary).toContain(`| ${dstProxy.host}/partial/app:one | ${multi.root.digest} |`)
    expect(await listTags(dst.host, 'partial/app')).toEqual(['one'])
  })
})

describe('what hosted registries do', () => {
  const locationTo =
    (form: (location: URL) => string) => (r: RecordedRequest, response: { status: number; headers: Record<string, unknown> }) => {
      if (r.method === 'POST' && typeof response.headers.location === 'string') {
        response.headers.location = form(new URL(response.headers.location, `http://${dstProxy.host}`))
      }
    }

  test.each([
    ['a relative Location (ghcr.io, Quay)', (l: URL) => `${l.pathname}${l.search}`, undefined, 'relative'],
    [
      'a Location with its own query (_state)',
      (l: URL) => `${l.href}${l.search ? '&' : '?'}_state=abc%3D`,
      '_state=abc%3D&digest=',
      'state'
    ],
    ['a Location outside /v2/ (Google Artifact Registry)', (l: URL) => `/artifacts-uploads${l.pathname}${l.search}`, undefined, 'gar']
  ])('%s: resolved against the request, digest appended', async (_name, form, expectedQuery, repo) => {
    dstProxy.faults.editResponse = locationTo(form)
    dstProxy.faults.rewritePath = (path) => path.replace(/^\/artifacts-uploads/, '')
    await copy(`${src.host}/app:v1`, `${dstProxy.host}/location-${repo}/app:v1`)
    const puts = dstProxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('digest='))
    expect(puts).toHaveLength(blobCount)
    if (expectedQuery) expect(puts.every((r) => r.path.includes(expectedQuery))).toBe(true)
    if (form(new URL('http://x/v2/')).startsWith('/artifacts-uploads'))
      expect(puts.every((r) => r.path.startsWith('/artifacts-uploads/'))).toBe(true)
    expect(await skopeoRaw(`${dst.host}/location-${repo}/app:v1`)).toBe(multi.root.bytes.toString())
  })

  test.each([
    ['400 (Harbor)', 400, 'UNSUPPORTED'],
    ['404', 404, 'BLOB_UNKNOWN']
  ])('a mount refused with %s falls back to an upload, and is asked for once per source repository', async (_name, status, code) => {
    const from = `mount-${status}/base`
    await pushFixture(dst.host, from, multi, 'v1')
    dstProxy.faults.answer = (r) => (mountRequest(r) ? registryError(status, code, 'mount refused') : undefined)
    const dests = [`${dstProxy.host}/mount-${status}/one:v1`, `${dstProxy.host}/mount-${status}/two:v1`]
    const result = await copy(`${dstProxy.host}/${from}:v1`, dests)
    expect(result.stats.blobsMounted).toBe(0)
    for (const dest of ['one', 'two']) expect(await skopeoRaw(`${dst.host}/mount-${status}/${dest}:v1`)).toBe(multi.root.bytes.toString())
    // The first destination mounts from the source's repository, the second from the first: one
    // refused mount each, then every other blob goes straight to an upload.
    const mounts = dstProxy.requests.filter(mountRequest)
    expect(mounts.map((r) => new URL(r.path, 'http://x').searchParams.get('from'))).toEqual([from, `mount-${status}/one`])
    expect(dstProxy.requests.filter(blobPut)).toHaveLength(2 * blobCount)
  })

  test('blob PUT answered 204, manifest PUT 200 and 202, no Docker-Content-Digest: all accepted', async () => {
    let manifestPuts = 0
    dstProxy.faults.editResponse = (r, response) => {
      if (r.method === 'PUT' && r.path.includes('/blobs/uploads/') && response.status === 201) response.status = 204
      if (r.method === 'PUT' && r.path.includes('/manifests/') && response.status === 201) {
        response.status = manifestPuts++ % 2 === 0 ? 200 : 202
        delete response.headers['docker-content-digest']
      }
    }
    const result = await copy(`${src.host}/app:v1`, `${dstProxy.host}/statuses/app:v1`)
    expect(result.digest).toBe(multi.root.digest)
    expect(manifestPuts).toBe(multi.children.length + 2)
    expect(await skopeoRaw(`${dst.host}/statuses/app:v1`)).toBe(multi.root.bytes.toString())
  })
})
