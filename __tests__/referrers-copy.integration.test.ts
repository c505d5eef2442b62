/**
 * `referrers: true` against real registries: distribution (no referrers API: the tag schema) and
 * the same registry behind the test-bed proxy answering the referrers API. Referrers of the
 * manifests pushed with their own bytes come along whatever `platforms` keeps; those of rewritten
 * manifests are counted in a notice; a lookup that fails for another reason than "none" fails
 * the copy; paged answers are followed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAnnotations } from '../src/annotations.js'
import { StaticCredentials } from '../src/auth/credentials.js'
import { atTag, parseEndpoint } from '../src/endpoint.js'
import type { Logger } from '../src/log.js'
import { pushPackage } from '../src/engine/push-package.js'
import { parsePlatform, type PlatformSpec } from '../src/platform.js'
import { ReferrersLookupError, referrersTag } from '../src/referrers.js'
import { MAX_REFERRERS_PAGES } from '../src/registry/repository.js'
import { Registries } from '../src/registry/registries.js'
import { UNLIMITED } from '../src/size.js'
import { Stores } from '../src/stores.js'
import { descriptor, image, index, listTags, makeBlob, pushFixture, rawManifest, referrer, type Fixture } from '../testbed/fixtures.js'
import { startProxy, type CannedResponse, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools } from '../testbed/tools.js'
import { copy, FAST_RETRY } from './helpers/copy.js'
import { lineReporter } from '../src/progress.js'

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const SBOM = 'application/vnd.example.sbom.v1+json'

let a: TestRegistry
let b: TestRegistry
/** In front of a and b: the referrers API, as a registry with it answers. */
let apiSource: RecordingProxy
let apiDest: RecordingProxy
/** In front of a, without the API: for faults. */
let plain: RecordingProxy
let dir: string

const amd = image({ seed: 'refs-amd64' })
const arm = image({ seed: 'refs-arm64', architecture: 'arm64' })
const multi = index([amd, arm])
const armSbom = referrer(arm.root, SBOM)
const trio = index([amd, arm, image({ seed: 'refs-s390x', architecture: 's390x' })])
const indexSignature = referrer(trio.root, 'application/vnd.example.signature.v1+json')
const arm64: PlatformSpec[] = [parsePlatform('linux/arm64') as PlatformSpec]
const paged = ['application/vnd.example.a+json', 'application/vnd.example.b+json', 'application/vnd.example.c+json'].map((type) =>
  referrer(arm.root, type)
)

/** An index tagged as the tag schema says, listing `referrers` of `subject` the way a client writes it. */
function tagSchemaIndex(referrers: Fixture[]): Fixture {
  const manifests = referrers.map((r) => {
    const json = JSON.parse(r.root.bytes.toString('utf8')) as { artifactType: string }
    return descriptor(r.root, { artifactType: json.artifactType })
  })
  return {
    root: makeBlob(OCI_INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }))),
    children: [],
    blobs: []
  }
}

beforeAll(async () => {
  await requireTools(['docker-registry'])
  ;[a, b] = await Promise.all([startRegistry(), startRegistry()])
  ;[apiSource, apiDest, plain] = await Promise.all([
    startProxy(a.port, '127.0.0.1', { referrersApi: {} }),
    startProxy(b.port, '127.0.0.1', { referrersApi: {} }),
    startProxy(a.port)
  ])
  // The tag schema, on distribution itself.
  await pushFixture(a.host, 'tags/app', multi, 'v1')
  await pushFixture(a.host, 'tags/app', armSbom)
  await pushFixture(a.host, 'tags/app', tagSchemaIndex([armSbom]), referrersTag(arm.root.digest))
  await pushFixture(a.host, 'signed/app', trio, 'v1')
  await pushFixture(a.host, 'signed/app', indexSignature)
  await pushFixture(a.host, 'signed/app', tagSchemaIndex([indexSignature]), referrersTag(trio.root.digest))
  // The referrers API: pushed through the proxy that lists what has a subject.
  await pushFixture(apiSource.host, 'api/app', multi, 'v1')
  await pushFixture(apiSource.host, 'api/app', armSbom)
  await pushFixture(apiSource.host, 'paged/app', multi, 'v1')
  for (const r of paged) await pushFixture(apiSource.host, 'paged/app', r)
  dir = await mkdtemp(join(tmpdir(), 'oci-push-referrers-'))
}, 120_000)

afterEach(() => {
  plain?.reset()
  apiSource?.reset()
  if (apiSource) apiSource.options.referrersApi = {}
})

afterAll(async () => {
  await Promise.all([apiSource?.stop(), apiDest?.stop(), plain?.stop()])
  await Promise.all([a, b].map((r) => r?.stop()))
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** The referrers a registry with the API lists for `subject` (read through the proxy, not our code). */
async function apiReferrers(proxy: RecordingProxy, repository: string, subject: string): Promise<Array<{ digest: string }>> {
  const res = await fetch(`http://${proxy.host}/v2/${repository}/referrers/${subject}`)
  expect(res.headers.get('content-type')).toBe(OCI_INDEX)
  return ((await res.json()) as { manifests: Array<{ digest: string }> }).manifests
}

async function tagSchemaDigests(host: string, repository: string, subject: string): Promise<string[]> {
  const json = JSON.parse(await rawManifest(host, repository, referrersTag(subject))) as { manifests: Array<{ digest: string }> }
  return json.manifests.map((d) => d.digest)
}

describe('platforms and annotations with referrers: true', () => {
  test.each([
    ['the tag schema on distribution', () => ({ src: a.host, dest: b.host, repo: 'tags/app', api: false })],
    ["a registry's referrers API", () => ({ src: apiSource.host, dest: apiDest.host, repo: 'api/app', api: true })]
  ])('%s: the arm64 SBOM follows linux/arm64; once the child is rewritten, a notice counts it', async (_name, where) => {
    const { src, dest, repo, api } = where()
    const result = await copy(`${src}/${repo}:v1`, `${dest}/${repo}-arm64:v1`, { transform: { platforms: arm64, referrers: true } })
    expect(result.digest).toBe(arm.root.digest)
    expect(result.referrers).toEqual([{ subject: arm.root.digest, digest: armSbom.root.digest, kind: SBOM }])
    const copied = JSON.parse(await rawManifest(b.host, `${repo}-arm64`, armSbom.root.digest)) as { subject: { digest: string } }
    expect(copied.subject.digest).toBe(arm.root.digest)
    if (api) {
      // Recorded by the registry itself: no tag schema index is written beside it.
      expect((await apiReferrers(apiDest, `${repo}-arm64`, arm.root.digest)).map((d) => d.digest)).toEqual([armSbom.root.digest])
      expect(await listTags(b.host, `${repo}-arm64`)).toEqual(['v1'])
    } else {
      expect(await tagSchemaDigests(b.host, `${repo}-arm64`, arm.root.digest)).toEqual([armSbom.root.digest])
    }

    const log: string[] = []
    const rewritten = await copy(`${src}/${repo}:v1`, `${dest}/${repo}-annotated:v1`, {
      log,
      transform: { platforms: arm64, annotations: parseAnnotations('org.example.stamp=1'), referrers: true }
    })
    expect(rewritten.rewritten).toEqual([expect.objectContaining({ from: arm.root.digest, to: rewritten.digest })])
    expect(rewritten.referrers).toEqual([])
    expect(log).toContain(
      `Referrers left behind: ${arm.root.digest} has 1 (signatures, SBOMs, attestations) but is pushed as ${rewritten.digest} ` +
        `(annotations, platforms or ociMediaTypes), and a referrer names the exact digest it refers to; attach them to ${rewritten.digest} again where they still apply`
    )
    expect(await listTags(b.host, `${repo}-annotated`)).toEqual(['v1'])
  })
})

describe('only "none exist" is quiet', () => {
  test.each([500, 401, 403])(
    'the tag schema index answered %i fails the copy, naming the lookup and the subject; no tag written',
    async (status) => {
      const tag = referrersTag(arm.root.digest)
      plain.faults.rules = [
        { match: (r) => r.method === 'GET' && r.path.endsWith(`/manifests/${tag}`), times: Infinity, action: { status } }
      ]
      const copying = copy(`${plain.host}/tags/app:v1`, `${b.host}/failed-${status}/app:v1`, {
        retry: FAST_RETRY,
        transform: { platforms: arm64, referrers: true }
      })
      await expect(copying).rejects.toBeInstanceOf(ReferrersLookupError)
      await expect(copying).rejects.toThrow(
        new RegExp(
          `^look up referrers of ${plain.host}/tags/app@${arm.root.digest} in the tag schema index ${tag}: fetch manifest .* ${status} `
        )
      )
      const asked = plain.requests.filter((r) => r.path.endsWith(`/manifests/${tag}`)).length
      // A 5xx is tried again before it fails; a refusal is not.
      if (status === 500) expect(asked).toBeGreaterThan(1)
      expect(await listTags(b.host, `failed-${status}/app`)).toEqual([])
    }
  )

  const index = (manifests: unknown[]) => JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests })
  const sbom = descriptor(armSbom.root, { artifactType: SBOM })
  const ok = (body: string): CannedResponse => ({ status: 200, headers: { 'content-type': OCI_INDEX }, body })
  test.each([
    ['the tag schema index is not JSON', 'manifests', '{"schemaVersion": 2, "manifests": [', 'the tag schema index', 'is not valid JSON'],
    ['the API answers bad JSON', 'referrers', '{"manifests": [}', 'the referrers API', 'page 1 of the answer: is not valid JSON']
  ])('%s: the copy fails naming it and the subject', async (_name, kind, body, lookup, problem) => {
    const path = kind === 'manifests' ? `/manifests/${referrersTag(arm.root.digest)}` : `/referrers/${arm.root.digest}`
    plain.faults.answer = (r) => (r.method === 'GET' && r.path.endsWith(path) ? ok(body) : undefined)
    const copying = copy(`${plain.host}/tags/app:v1`, `${b.host}/invalid/app:v1`, { transform: { platforms: arm64, referrers: true } })
    await expect(copying).rejects.toBeInstanceOf(ReferrersLookupError)
    await expect(copying).rejects.toThrow(`look up referrers of ${plain.host}/tags/app@${arm.root.digest} in ${lookup}`)
    await expect(copying).rejects.toThrow(problem)
  })

  test.each([
    [
      'the tag schema index lists a bad digest',
      'manifests',
      { digest: 'sha256:not-hex' },
      'the tag schema index',
      'manifests[0] has no valid digest'
    ],
    ['the API lists a negative size', 'referrers', { size: -1 }, 'the referrers API', 'manifests[0] has no valid size'],
    [
      'the API lists a media type that is none',
      'referrers',
      { mediaType: 'manifest' },
      'the referrers API',
      'manifests[0] has no valid mediaType'
    ]
  ])(
    '%s: that descriptor is skipped with a warning naming the subject and the index, the good one copied',
    async (_name, kind, bad, lookup, problem) => {
      const path = kind === 'manifests' ? `/manifests/${referrersTag(arm.root.digest)}` : `/referrers/${arm.root.digest}`
      plain.faults.answer = (r) => (r.method === 'GET' && r.path.endsWith(path) ? ok(index([{ ...sbom, ...bad }, sbom])) : undefined)
      const log: string[] = []
      const dest = `skipped-${kind}-${Object.keys(bad)[0].toLowerCase()}/app`
      const result = await copy(`${plain.host}/tags/app:v1`, `${b.host}/${dest}:v1`, {
        log,
        transform: { platforms: arm64, referrers: true }
      })
      const warning = log.filter((line) => line.includes('cannot be copied and are skipped'))
      expect(warning).toHaveLength(1)
      expect(warning[0]).toContain(`${plain.host}/tags/app@${arm.root.digest} in ${lookup}`)
      expect(warning[0]).toContain(problem)
      expect(result.referrers.map((r) => r.digest)).toEqual([armSbom.root.digest])
      expect(await tagSchemaDigests(b.host, dest, arm.root.digest)).toEqual([armSbom.root.digest])
    }
  )
})

describe('referrers API pages (Link rel="next")', () => {
  test('a page size of 1 with 3 referrers: every page followed, all 3 copied', async () => {
    apiSource.options.referrersApi = { pageSize: 1 }
    const result = await copy(`${apiSource.host}/paged/app:v1`, `${b.host}/paged/app:v1`, {
      transform: { platforms: arm64, referrers: true }
    })
    const digests = paged.map((r) => r.root.digest)
    expect(result.referrers.map((r) => r.digest).sort()).toEqual([...digests].sort())
    expect((await tagSchemaDigests(b.host, 'paged/app', arm.root.digest)).sort()).toEqual([...digests].sort())
    // The first page, then the two its relative Links named.
    expect(apiSource.requests.filter((r) => r.path.includes(`/referrers/${arm.root.digest}`)).map((r) => r.path)).toEqual([
      `/v2/paged/app/referrers/${arm.root.digest}`,
      `/v2/paged/app/referrers/${arm.root.digest}?offset=1`,
      `/v2/paged/app/referrers/${arm.root.digest}?offset=2`
    ])
  })

  test('the test-bed API filters by artifactType as the spec says, and says so (OCI-Filters-Applied)', async () => {
    const url = `http://${apiSource.host}/v2/paged/app/referrers/${arm.root.digest}`
    const filtered = await fetch(`${url}?artifactType=${encodeURIComponent('application/vnd.example.b+json')}`)
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType')
    expect(((await filtered.json()) as { manifests: Array<{ digest: string }> }).manifests.map((d) => d.digest)).toEqual([
      paged[1].root.digest
    ])
    const all = await fetch(url)
    expect(all.headers.get('oci-filters-applied')).toBeNull()
    expect(((await all.json()) as { manifests: unknown[] }).manifests).toHaveLength(3)
  })

  test(`Links that never end: refused after ${MAX_REFERRERS_PAGES} pages`, async () => {
    const path = `/v2/tags/app/referrers/${arm.root.digest}`
    const empty = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })
    plain.faults.answer = (r) =>
      r.method === 'GET' && r.path.startsWith(path)
        ? { status: 200, headers: { 'content-type': OCI_INDEX, link: `<${path}?again=1>; rel="next"` }, body: empty }
        : undefined
    const copying = copy(`${plain.host}/tags/app:v1`, `${b.host}/endless/app:v1`, { transform: { platforms: arm64, referrers: true } })
    await expect(copying).rejects.toThrow(
      `look up referrers of ${plain.host}/tags/app@${arm.root.digest} in the referrers API: page ${MAX_REFERRERS_PAGES} of the answer: ` +
        `links to another (Link rel="next"); more than ${MAX_REFERRERS_PAGES} pages are not followed`
    )
    expect(plain.requests.filter((r) => r.path.startsWith(path))).toHaveLength(MAX_REFERRERS_PAGES)
  })
})

describe('OCI layouts: the tag schema in index.json', () => {
  test('copied into a layout and out of it again, the SBOM keeps following its subject', async () => {
    const layout = join(dir, 'with-referrers')
    await copy(`${a.host}/tags/app:v1`, layout, { transform: { platforms: arm64, referrers: true } })
    // Twice: the second reads the index it wrote and adds nothing.
    await copy(`${a.host}/tags/app:v1`, layout, { transform: { platforms: arm64, referrers: true } })
    const entries = (
      JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> }
    ).manifests
    expect(entries.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] === referrersTag(arm.root.digest))).toHaveLength(1)

    const result = await copy(`${layout}@${arm.root.digest}`, `${b.host}/from-layout/app:v1`, { transform: { referrers: true } })
    expect(result.referrers.map((r) => r.digest)).toEqual([armSbom.root.digest])
    expect(await tagSchemaDigests(b.host, 'from-layout/app', arm.root.digest)).toEqual([armSbom.root.digest])
  })
})

describe('subject: attaching through a registry with the referrers API', () => {
  /** Packages `file` as an SBOM of `subject`, as the action does. */
  async function attach(file: string, subject: string, log: string[]): Promise<string> {
    const record = (message: string) => log.push(message)
    const logger: Logger = { debug: record, info: record, warning: record, notice: record, secret: () => {} }
    const registries = new Registries({ credentials: new StaticCredentials([]), plainHttp: false, logger, retry: FAST_RETRY })
    try {
      // No destRef: the referrer goes into the subject's repository, by digest (as the action's inputs say).
      const endpoint = parseEndpoint(subject)
      const request = { path: file, artifactType: 'application/spdx+json', subject: endpoint, maxArtifactSize: UNLIMITED }
      const result = await pushPackage(
        new Stores(registries),
        { ...request, destinations: [atTag(endpoint, undefined)] },
        lineReporter(logger)
      )
      return result.digest
    } finally {
      await registries.close()
    }
  }

  test('the API is found: the registry lists the referrer and no tag schema index is written', async () => {
    await pushFixture(apiDest.host, 'attach/app', arm, 'v1')
    const file = join(dir, 'attach.spdx.json')
    await writeFile(file, JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'attach' }))
    const log: string[] = []
    const digest = await attach(file, `${apiDest.host}/attach/app:v1`, log)
    expect(log).toContain(`Recorded as a referrer of ${arm.root.digest} in ${apiDest.host}/attach/app (referrers API)`)
    expect(await apiReferrers(apiDest, 'attach/app', arm.root.digest)).toEqual([
      expect.objectContaining({ digest, artifactType: 'application/spdx+json' })
    ])
    expect(await listTags(b.host, 'attach/app')).toEqual(['v1'])
    // The same registry without the API: the tag schema index is how it is recorded.
    await attach(file, `${b.host}/attach/app:v1`, [])
    expect(await listTags(b.host, 'attach/app')).toEqual([referrersTag(arm.root.digest), 'v1'])
  })
})

describe("the source index's own referrers with platforms", () => {
  test.each([
    ['one platform (the arm64 image alone)', ['linux/arm64'], () => arm.root.digest],
    ['several platforms (a new index)', ['linux/arm64', 'linux/amd64'], () => undefined]
  ])('%s: a notice counts the index signature left behind', async (_name, platforms, expected) => {
    const log: string[] = []
    const result = await copy(`${a.host}/signed/app:v1`, `${b.host}/signed/app-${platforms.length}:v1`, {
      log,
      transform: { platforms: platforms.map((p) => parsePlatform(p) as PlatformSpec), referrers: true }
    })
    if (expected()) expect(result.digest).toBe(expected())
    expect(result.referrers).toEqual([])
    expect(log).toContain(
      `Referrers left behind: ${trio.root.digest} has 1 (signatures, SBOMs, attestations) but is pushed as ${result.digest} ` +
        `(annotations, platforms or ociMediaTypes), and a referrer names the exact digest it refers to; attach them to ${result.digest} again where they still apply`
    )
  })

  test('every platform asked for: the index goes as it is, and its signature with it', async () => {
    const result = await copy(`${a.host}/signed/app:v1`, `${b.host}/signed/app-all:v1`, {
      transform: { platforms: ['linux/s390x', 'linux/arm64', 'linux/amd64'].map((p) => parsePlatform(p) as PlatformSpec), referrers: true }
    })
    expect(result.digest).toBe(trio.root.digest)
    expect(result.referrers.map((r) => r.digest)).toEqual([indexSignature.root.digest])
  })
})
