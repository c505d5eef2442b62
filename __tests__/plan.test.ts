/**
 * The plan (issue 16): everything decided before anything is written — what each target lacks,
 * the bytes that would move, the size limit, what platforms leave behind — over in-memory stores.
 */
import { describe, expect, test } from '@jest/globals'
import type { Endpoint } from '../src/endpoint.js'
import { storeKey } from '../src/endpoint.js'
import { SizeLimitError } from '../src/errors.js'
import { describePlan, executePlan } from '../src/engine/execute.js'
import type { ProgressEvent } from '../src/engine/events.js'
import { planCopy } from '../src/engine/plan.js'
import { askEarly } from '../src/engine/missing-manifests.js'
import { parseManifest } from '../src/manifest.js'
import type { CopyRequest, Reporter } from '../src/engine/request.js'
import { parsePlatform } from '../src/platform.js'
import type { Opener } from '../src/storage.js'
import { UNLIMITED } from '../src/size.js'
import { descriptor, image, makeBlob, type Fixture } from '../testbed/fixtures.js'
import { MemoryStore } from './helpers/memory-store.js'
import { ACTION_WORDS, inWords } from '../src/words.js'

const amd64 = image({ seed: 'plan-amd64' })
const arm64 = image({ seed: 'plan-arm64', architecture: 'arm64' })
const s390x = image({ seed: 'plan-s390x', architecture: 's390x', layers: 1 })
const attestation = image({ seed: 'plan-att', layers: 1 })
const mediaType = 'application/vnd.oci.image.index.v1+json'
const built: Fixture = (() => {
  const manifests = [
    descriptor(amd64.root, { platform: { os: 'linux', architecture: 'amd64' } }),
    descriptor(arm64.root, { platform: { os: 'linux', architecture: 'arm64' } }),
    descriptor(s390x.root, { platform: { os: 'linux', architecture: 's390x' } }),
    descriptor(attestation.root, {
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': arm64.root.digest }
    })
  ]
  const root = makeBlob(mediaType, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests })))
  const images = [amd64, arm64, s390x, attestation]
  return { root, children: images.map((i) => i.root), blobs: images.flatMap((i) => i.blobs) }
})()

/** Memory stores by repository name: `src` holds the fixture. */
function stores(): { opener: Opener<Endpoint>; src: MemoryStore; dest: MemoryStore } {
  const src = MemoryStore.with('src', built, 'v1')
  const dest = new MemoryStore('dest')
  const byName = (endpoint: Endpoint) => (storeKey(endpoint).endsWith('/src') ? src : dest)
  return { opener: { source: (e) => Promise.resolve(byName(e)), target: (e) => Promise.resolve(byName(e)) }, src, dest }
}

function reporter(): Reporter & { notices: string[]; events: ProgressEvent[] } {
  const notices: string[] = []
  const events: ProgressEvent[] = []
  const none = () => {}
  return {
    debug: none,
    info: none,
    warning: none,
    secret: none,
    notice: (m) => notices.push(inWords(m, ACTION_WORDS)),
    event: (e) => events.push(e),
    notices,
    events
  }
}

const request = (extra: Partial<CopyRequest> = {}): CopyRequest => ({
  source: { kind: 'registry', reference: { registry: 'r.io', repository: 'src', tag: 'v1' } },
  destinations: [{ kind: 'registry', reference: { registry: 'r.io', repository: 'dest', tag: 'v1' } }],
  maxArtifactSize: UNLIMITED,
  ...extra
})

const blobBytes = (fixture: Fixture) => fixture.blobs.reduce((sum, b) => sum + b.size, 0)

describe('planCopy', () => {
  test('decides what the target lacks and the bytes that would move, writing nothing', async () => {
    const { opener, dest } = stores()
    const plan = await planCopy(opener, request(), reporter())
    expect(plan.targets.map((t) => t.missing.size)).toEqual([built.children.length + 1])
    expect(plan.bytes).toBe(blobBytes(built))
    expect(dest.calls.filter((c) => c.startsWith('push'))).toEqual([])
    const dry = describePlan(plan)
    expect(dry).toMatchObject({ digest: built.root.digest, planned: { bytes: blobBytes(built) } })
    expect(dry.pushed.map((p) => p.ref)).toEqual(['r.io/dest:v1'])
  })

  test('then executed: every blob and manifest, the tag last', async () => {
    const { opener, dest } = stores()
    const result = await executePlan(await planCopy(opener, request(), reporter()), reporter())
    expect(result.digest).toBe(built.root.digest)
    expect(dest.calls.filter((c) => c.startsWith('push')).at(-1)).toBe('pushManifest v1')
    expect(dest.tags.get('v1')).toBe(built.root.digest)
  })

  test('the size limit is checked from the manifests, before anything is written or a blob asked for', async () => {
    const { opener, dest } = stores()
    await expect(planCopy(opener, request({ maxArtifactSize: 10 }), reporter())).rejects.toBeInstanceOf(SizeLimitError)
    // Only the manifests' HEADs, sent while the index's children were fetched (one round trip less).
    expect(dest.calls.filter((c) => !c.startsWith('manifestExists'))).toEqual([])
    expect(new Set(dest.calls)).toEqual(new Set([built.root, ...built.children].map((m) => `manifestExists ${m.digest}`)))
  })

  test('maxArtifactSize 0 (no cross-repository push): refused, and the target asked nothing', async () => {
    const { opener, dest } = stores()
    await expect(planCopy(opener, request({ maxArtifactSize: 0 }), reporter())).rejects.toBeInstanceOf(SizeLimitError)
    expect(dest.calls).toEqual([])
  })

  test("an early HEAD that fails fails the plan with its error; a child GET that fails, with the source's, the HEADs left handled", async () => {
    const { opener, src, dest } = stores()
    const manifestExists = dest.manifestExists.bind(dest)
    dest.manifestExists = (descriptor) =>
      descriptor.digest === built.children[2].digest ? Promise.reject(new Error('HEAD refused')) : manifestExists(descriptor)
    await expect(planCopy(opener, request(), reporter())).rejects.toThrow('HEAD refused')
    const fetchManifest = src.fetchManifest.bind(src)
    src.fetchManifest = (reference) =>
      reference === built.children[1].digest ? Promise.reject(new Error('GET broke')) : fetchManifest(reference)
    // The failing HEAD is never read now: no unhandled rejection may follow (jest fails the file on one).
    await expect(planCopy(opener, request(), reporter())).rejects.toThrow('GET broke')
    await new Promise((resolve) => setTimeout(resolve, 20))
  })

  test('askEarly: for an index of images only, each digest asked once; none for a nested index or a lone image', () => {
    const target = new MemoryStore('t')
    const node = (fixture: { digest: string; mediaType: string; bytes: Buffer }) => ({
      descriptor: { mediaType: fixture.mediaType, digest: fixture.digest, size: fixture.bytes.length },
      bytes: fixture.bytes,
      manifest: parseManifest(fixture.bytes, fixture.mediaType, 'test')
    })
    const answers = askEarly(node(built.root), target)
    expect([...(answers?.keys() ?? [])].sort()).toEqual([built.root, ...built.children].map((m) => m.digest).sort())
    expect(askEarly(node(amd64.root), target)).toBeUndefined()
    const nestedBytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType, manifests: [descriptor(built.root), descriptor(amd64.root)] })
    )
    const nested = makeBlob(mediaType, nestedBytes)
    expect(askEarly(node(nested), target)).toBeUndefined()
  })

  test("an index's manifests are asked of the target while its children are fetched: every HEAD before the last child GET ends", async () => {
    const { opener, src, dest } = stores()
    const order: string[] = []
    const fetchManifest = src.fetchManifest.bind(src)
    src.fetchManifest = async (reference) => {
      const fetched = await fetchManifest(reference)
      await new Promise((resolve) => setTimeout(resolve, 5))
      order.push(`got ${reference}`)
      return fetched
    }
    const manifestExists = dest.manifestExists.bind(dest)
    dest.manifestExists = (descriptor) => {
      order.push(`asked ${descriptor.digest}`)
      return manifestExists(descriptor)
    }
    const plan = await planCopy(opener, request(), reporter())
    expect(plan.targets[0].missing.size).toBe(built.children.length + 1)
    const lastChild = Math.max(...built.children.map((c) => order.indexOf(`got ${c.digest}`)))
    const asked = [built.root, ...built.children].map((m) => order.indexOf(`asked ${m.digest}`))
    expect(asked.every((i) => i >= 0 && i < lastChild)).toBe(true)
    // Each asked once, however many times the plan reads the answer.
    expect(order.filter((o) => o.startsWith('asked')).length).toBe(built.children.length + 1)
  })

  test('one platform: the image alone, a notice for the attestation its index keeps, the index left behind', async () => {
    const { opener } = stores()
    const report = reporter()
    const plan = await planCopy(opener, request({ platforms: [parsePlatform('linux/arm64')!] }), report)
    expect(plan.root.descriptor.digest).toBe(arm64.root.digest)
    expect(report.notices).toEqual([
      `platforms: ${arm64.root.digest} is copied alone, without the index holding its 1 attestation manifest (provenance, SBOM); select two platforms or more to keep them`
    ])
    expect(plan.kept).toEqual([arm64.root.digest])
    expect(plan.leftBehind).toEqual([{ from: built.root.digest, to: arm64.root.digest }])
  })

  test('several platforms: the new index counts as the source index rewritten, and leaves it behind', async () => {
    const { opener } = stores()
    const plan = await planCopy(opener, request({ platforms: ['linux/arm64', 'linux/amd64'].map((p) => parsePlatform(p)!) }), reporter())
    const made = plan.root.descriptor.digest
    expect(made).not.toBe(built.root.digest)
    expect(plan.rewritten).toEqual([{ from: built.root.digest, to: made, mediaType }])
    expect(plan.leftBehind).toEqual([{ from: built.root.digest, to: made }])
    expect(plan.kept.sort()).toEqual([amd64.root.digest, arm64.root.digest, attestation.root.digest].sort())
  })

  test('every platform asked for: the index as it is, nothing rewritten nor left behind', async () => {
    const { opener } = stores()
    const all = ['linux/s390x', 'linux/arm64', 'linux/amd64'].map((p) => parsePlatform(p)!)
    const plan = await planCopy(opener, request({ platforms: all }), reporter())
    expect(plan.root.descriptor.digest).toBe(built.root.digest)
    expect(plan.rewritten).toEqual([])
    expect(plan.leftBehind).toEqual([])
  })
})
