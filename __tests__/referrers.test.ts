/** Referrers found and recorded, against stores built from the distribution-spec's examples. */
import { describe, expect, test } from '@jest/globals'
import { sha256 } from '../src/digest.js'
import type { Descriptor } from '../src/manifest.js'
import { listReferrers, recordReferrer, referrerDescriptor, referrersTag } from '../src/referrers/referrers.js'
import { MemoryStore } from './helpers/memory-store.js'

const subject = `sha256:${'a'.repeat(64)}`
const sbom: Descriptor = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${'b'.repeat(64)}`,
  size: 1234,
  artifactType: 'application/vnd.example.sbom.v1'
}
const signature: Descriptor = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${'c'.repeat(64)}`,
  size: 1000,
  artifactType: 'application/vnd.example.signature.v1'
}

/** A memory store that answers the referrers API, as a registry with the API does. */
class ApiStore extends MemoryStore {
  constructor(private readonly answer: Descriptor[] | undefined) {
    super('api')
  }
  listReferrers(): Promise<Descriptor[] | undefined> {
    return Promise.resolve(this.answer)
  }
}

describe('listReferrers', () => {
  test('a registry with the API: its answer, not the tag', async () => {
    expect(await listReferrers(new ApiStore([sbom, signature]), subject)).toEqual({ via: 'api', referrers: [sbom, signature] })
  })

  test('no API (404, or a non-index answer): the sha256-<hex> tag schema index', async () => {
    const store = new ApiStore(undefined)
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [sbom] }))
    store.manifests.set(sha256(index), { bytes: index, mediaType: 'application/vnd.oci.image.index.v1+json' })
    store.tags.set(referrersTag(subject), sha256(index))
    expect(await listReferrers(store, subject)).toEqual({ via: 'tag', referrers: [sbom] })
    expect(await listReferrers(new MemoryStore('none'), subject)).toEqual({ via: 'tag', referrers: [] })
  })
})

describe('recordReferrer', () => {
  test('where the API is, nothing is written', async () => {
    const store = new ApiStore([])
    expect(await recordReferrer(store, subject, sbom)).toBe('api')
    expect(store.tags.size).toBe(0)
  })

  test('the tag schema: entries kept, the new one added once', async () => {
    const store = new MemoryStore('tags')
    await recordReferrer(store, subject, sbom)
    await recordReferrer(store, subject, signature)
    await recordReferrer(store, subject, sbom)
    const { bytes } = await store.fetchManifest(referrersTag(subject))
    expect(JSON.parse(bytes.toString())).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [sbom, signature]
    })
  })

  test("a referrer is listed with its artifactType, else its config's media type, and its annotations", () => {
    const manifest = (extra: object) =>
      Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.example.config' }, layers: [], ...extra }))
    const d = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: 10 }
    expect(referrerDescriptor(manifest({ artifactType: 'application/x-a', annotations: { k: 'v' } }), d)).toEqual({
      ...d,
      artifactType: 'application/x-a',
      annotations: { k: 'v' }
    })
    expect(referrerDescriptor(manifest({}), d)).toEqual({ ...d, artifactType: 'application/vnd.example.config' })
  })
})
