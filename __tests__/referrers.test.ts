/** Referrers found and recorded, against stores built from the distribution-spec's examples. */
import { describe, expect, test } from '@jest/globals'
import { sha256 } from '../src/digest.js'
import { ContentError, RegistryError } from '../src/errors.js'
import type { Descriptor } from '../src/manifest.js'
import { listReferrers, recordReferrer } from '../src/engine/referrers-store.js'
import { parseReferrersIndex, referrerDescriptor, ReferrersLookupError, referrersTag, type ReferrersList } from '../src/referrers.js'
import { nextLink } from '../src/registry/repository.js'
import type { FetchedManifest } from '../src/storage.js'
import { MemoryStore } from './helpers/memory-store.js'

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
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

/** A memory store whose missing manifests are answered as a registry answers them: 404 MANIFEST_UNKNOWN. */
class RegistryLikeStore extends MemoryStore {
  override async fetchManifest(reference: string): Promise<FetchedManifest> {
    try {
      return await super.fetchManifest(reference)
    } catch {
      throw new RegistryError('fetch manifest', `${this.name}:${reference}`, 404, [
        { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }
      ])
    }
  }
}

/** A memory store that answers the referrers API, as a registry with the API does. */
class ApiStore extends RegistryLikeStore {
  constructor(private readonly answer: Descriptor[] | undefined) {
    super('api')
  }
  listReferrers(): Promise<ReferrersList | undefined> {
    return Promise.resolve(this.answer && { referrers: this.answer, skipped: [] })
  }
}

/** A store whose every manifest lookup fails with `error`. */
class FailingStore extends MemoryStore {
  constructor(private readonly error: Error) {
    super('failing')
  }
  override fetchManifest(): Promise<FetchedManifest> {
    return Promise.reject(this.error)
  }
}

function tagIndex(store: MemoryStore, bytes: Buffer): void {
  store.manifests.set(sha256(bytes), { bytes, mediaType: OCI_INDEX })
  store.tags.set(referrersTag(subject), sha256(bytes))
}

const indexOf = (manifests: unknown[]) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }))

describe('listReferrers', () => {
  test('a registry with the API: its answer, not the tag', async () => {
    expect(await listReferrers(new ApiStore([sbom, signature]), subject)).toMatchObject({
      via: 'api',
      where: 'the referrers API',
      referrers: [sbom, signature],
      skipped: []
    })
  })

  test('no API (404, or a non-index answer): the sha256-<hex> tag schema index', async () => {
    const store = new ApiStore(undefined)
    tagIndex(store, indexOf([sbom]))
    const where = `the tag schema index ${referrersTag(subject)}`
    expect(await listReferrers(store, subject)).toMatchObject({ via: 'tag', where, referrers: [sbom], skipped: [] })
    expect(await listReferrers(new RegistryLikeStore('none'), subject)).toMatchObject({ via: 'tag', where, referrers: [], skipped: [] })
  })

  test.each([
    ['a 500 after retries', new RegistryError('fetch manifest', 'r/app:sha256-a', 500, [{ code: 'UNAVAILABLE', message: 'down' }])],
    ['a 401', new RegistryError('fetch manifest', 'r/app:sha256-a', 401, [{ code: 'UNAUTHORIZED', message: 'authentication required' }])],
    ['a 403', new RegistryError('fetch manifest', 'r/app:sha256-a', 403, [{ code: 'DENIED', message: 'denied' }])],
    ['any other error', new Error('socket hang up')]
  ])('only "not found" is quiet: %s fails the lookup, naming the subject and the tag', async (_name, error) => {
    const lookup = listReferrers(new FailingStore(error), subject)
    await expect(lookup).rejects.toBeInstanceOf(ReferrersLookupError)
    await expect(lookup).rejects.toThrow(
      `look up referrers of failing@${subject} in the tag schema index ${referrersTag(subject)}: ${error.message}`
    )
  })

  test.each([
    ['not JSON', Buffer.from('{"schemaVersion": 2, "manif'), 'is not valid JSON'],
    [
      'an image manifest, not an index',
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: sbom.mediaType, config: sbom, layers: [] })),
      'not an image index'
    ]
  ])('a tag schema index that is %s fails, naming it and the subject', async (_name, bytes, problem) => {
    const store = new RegistryLikeStore('r/app')
    tagIndex(store, bytes)
    const lookup = listReferrers(store, subject)
    await expect(lookup).rejects.toBeInstanceOf(ReferrersLookupError)
    await expect(lookup).rejects.toThrow(`look up referrers of r/app@${subject} in the tag schema index ${referrersTag(subject)}: `)
    await expect(lookup).rejects.toThrow(problem)
  })

  test('a tag schema index with a descriptor that has a bad digest: that one skipped, named, the others listed', async () => {
    const store = new RegistryLikeStore('r/app')
    tagIndex(store, indexOf([{ ...sbom, digest: 'sha256:xyz' }, signature]))
    const found = await listReferrers(store, subject)
    expect(found.referrers).toEqual([signature])
    expect(found.skipped).toEqual(['manifests[0] has no valid digest'])
  })
})

describe('parseReferrersIndex: every descriptor checked for what copying needs', () => {
  test('a valid index: its descriptors, unknown fields kept', () => {
    const extra = { ...sbom, annotations: { 'org.example': 'x' }, 'x-unknown': true }
    expect(parseReferrersIndex(indexOf([extra, signature]), 'answer')).toMatchObject({ referrers: [extra, signature], skipped: [] })
    expect(parseReferrersIndex(indexOf([]), 'answer')).toMatchObject({ referrers: [], skipped: [] })
  })

  test.each([
    ['no digest', { ...sbom, digest: undefined }, 'manifests[0] has no valid digest'],
    ['a digest without algorithm', { ...sbom, digest: 'b'.repeat(64) }, 'manifests[0] has no valid digest'],
    ['a negative size', { ...sbom, size: -1 }, 'manifests[0] has no valid size'],
    ['a fractional size', { ...sbom, size: 1.5 }, 'manifests[0] has no valid size'],
    ['a size beyond safe integers', { ...sbom, size: 2 ** 53 }, 'manifests[0] has no valid size'],
    ['a size given as a string', { ...sbom, size: '1234' }, 'manifests[0] has no valid size'],
    ['a media type without subtype', { ...sbom, mediaType: 'sbom' }, 'manifests[0] has no valid mediaType'],
    ['a media type with parameters', { ...sbom, mediaType: 'application/json; charset=utf-8' }, 'manifests[0] has no valid mediaType'],
    ['a descriptor that is a string', 'sha256:abc', 'manifests[0] is not a descriptor object']
  ])('%s: that descriptor skipped with its reason, the others kept', (_name, descriptor, problem) => {
    expect(parseReferrersIndex(indexOf([descriptor, signature]), 'the answer')).toMatchObject({
      referrers: [signature],
      skipped: [problem]
    })
  })

  test.each([
    ['empty, as cosign v3 writes it', ''],
    ['a number', 7],
    ['not a media type', 'sbom'],
    ['null', null]
  ])('an artifactType that is %s is read as unknown, never an error', (_name, artifactType) => {
    const { artifactType: _known, ...rest } = sbom
    expect(parseReferrersIndex(indexOf([{ ...sbom, artifactType }]), 'the answer')).toMatchObject({ referrers: [rest], skipped: [] })
  })

  test.each([
    ['not JSON', Buffer.from('<html>'), 'is not valid JSON'],
    [
      'an image manifest',
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] })),
      'not an image index'
    ],
    ['no manifests', Buffer.from(JSON.stringify({ schemaVersion: 2 })), 'has no "manifests" array']
  ])('an answer that is %s is a ContentError naming it', (_name, bytes, problem) => {
    expect(() => parseReferrersIndex(bytes, 'the answer')).toThrow(ContentError)
    expect(() => parseReferrersIndex(bytes, 'the answer')).toThrow(problem)
  })
})

describe('referrersTag (distribution-spec "Referrers Tag Schema")', () => {
  test.each([
    [`sha256:${'a'.repeat(64)}`, `sha256-${'a'.repeat(64)}`],
    [`sha512:${'0123456789abcdef'.repeat(8)}`, `sha512-${'0123456789abcdef'.repeat(4)}`],
    [
      'test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+truncation:alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharactersToExcerciseEncodedTruncation',
      'test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot'
    ]
  ])('%s is tagged %s', (digest, tag) => {
    expect(referrersTag(digest)).toBe(tag)
  })
})

describe('nextLink: the Link header of a paged answer', () => {
  const base = 'https://r.example/v2/app/referrers/sha256:aa'
  test.each([
    ['none', undefined, undefined],
    ['a relative link', '</v2/app/referrers/sha256:aa?last=x>; rel="next"', 'https://r.example/v2/app/referrers/sha256:aa?last=x'],
    ['an absolute link', '<https://other.example/page2>; rel="next"', 'https://other.example/page2'],
    ['rel unquoted', '<page2>; rel=next', 'https://r.example/v2/app/referrers/page2'],
    ['several links, next second', '</first>; rel="first", </n?p=2>; rel="next"', 'https://r.example/n?p=2'],
    ['rel with several relations', '</n>; title="x"; rel="prefetch next"', 'https://r.example/n'],
    ['only a prev link', '</p>; rel="prev"', undefined]
  ])('%s', (_name, header, next) => {
    expect(nextLink(header, base)).toBe(next)
  })
})

describe('recordReferrer', () => {
  test('where the API is, nothing is written', async () => {
    const store = new ApiStore([])
    expect(await recordReferrer(store, subject, sbom)).toBe('api')
    expect(store.tags.size).toBe(0)
  })

  test('the tag schema: entries kept, the new one added once', async () => {
    const store = new RegistryLikeStore('tags')
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

  test('the merge keeps what others wrote there, entries this copy cannot use included (never replaced)', async () => {
    const store = new RegistryLikeStore('tags')
    const odd = { ...signature, digest: 'sha256:not-hex', 'x-vendor': 1 }
    tagIndex(store, indexOf([odd, { ...sbom, artifactType: '' }]))
    await recordReferrer(store, subject, signature)
    const { bytes } = await store.fetchManifest(referrersTag(subject))
    expect((JSON.parse(bytes.toString()) as { manifests: unknown[] }).manifests).toEqual([odd, { ...sbom, artifactType: '' }, signature])
  })

  test('a destination whose tag schema index cannot be read is not overwritten: the step fails', async () => {
    const store = new FailingStore(new RegistryError('fetch manifest', 'r/app:sha256-a', 503, []))
    await expect(recordReferrer(store, subject, sbom)).rejects.toBeInstanceOf(ReferrersLookupError)
    expect(store.calls.filter((c) => c.startsWith('pushManifest'))).toEqual([])
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
