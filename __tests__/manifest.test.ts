import { describe, expect, test } from '@jest/globals'
import { blobsOf, childManifests, parseManifest, MAX_MANIFEST_BYTES } from '../src/manifest.js'
import { baseMediaType, isDistributable, manifestKind, MANIFEST_ACCEPT } from '../src/media-types.js'

const D1 = `sha256:${'1'.repeat(64)}`
const D2 = `sha256:${'2'.repeat(64)}`
const D3 = `sha256:${'3'.repeat(64)}`
const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))
const image = {
  schemaVersion: 2,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D1, size: 10 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D2, size: 20 }]
}

describe('parseManifest media type', () => {
  test.each([
    [
      'the mediaType field wins',
      { ...image, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' },
      'application/json',
      'application/vnd.docker.distribution.manifest.v2+json'
    ],
    [
      'no field (umoci): the Content-Type',
      image,
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.oci.image.manifest.v1+json'
    ],
    [
      'no field, generic Content-Type: shape of an image',
      image,
      'application/json; charset=utf-8',
      'application/vnd.oci.image.manifest.v1+json'
    ],
    [
      'no field, no Content-Type: shape of an index',
      { schemaVersion: 2, manifests: [] },
      undefined,
      'application/vnd.oci.image.index.v1+json'
    ],
    [
      'Docker list',
      { schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [] },
      undefined,
      'application/vnd.docker.distribution.manifest.list.v2+json'
    ]
  ])('%s', (_name, json, contentType, expected) => {
    expect(parseManifest(bytes(json), contentType, 'ref').mediaType).toBe(expected)
  })
})

describe('parseManifest refuses what a copy cannot handle', () => {
  test.each([
    [
      'schema 1 by media type',
      bytes({ schemaVersion: 1, name: 'a' }),
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
      /schema 1/
    ],
    ['schema 1 by version', bytes({ schemaVersion: 1, fsLayers: [] }), 'application/json', /schema 1/],
    ['not JSON', Buffer.from('{nope'), undefined, /not valid JSON/],
    ['not an object', bytes([1, 2]), undefined, /not a JSON object/],
    ['no schemaVersion', bytes({ layers: [] }), undefined, /schemaVersion 2/],
    ['unknown media type', bytes({ ...image, mediaType: 'application/vnd.example+json' }), undefined, /unsupported manifest media type/],
    [
      'index without manifests',
      bytes({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json' }),
      undefined,
      /no "manifests"/
    ],
    [
      'bad digest',
      bytes({ ...image, layers: [{ mediaType: 'x', digest: 'sha256:zz', size: 1 }] }),
      undefined,
      /layers\[0\] has no valid digest/
    ],
    ['bad size', bytes({ ...image, layers: [{ mediaType: 'x', digest: D2, size: -1 }] }), undefined, /layers\[0\] has no valid size/],
    [
      'no config',
      bytes({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] }),
      undefined,
      /config is not a descriptor/
    ],
    ['too large', Buffer.alloc(MAX_MANIFEST_BYTES + 1, 32), undefined, /larger than/]
  ])('%s', (_name, data, contentType, problem) => {
    expect(() => parseManifest(data, contentType, 'example.com/app:v1')).toThrow(problem)
  })

  test('the error names where the manifest came from', () => {
    expect(() => parseManifest(Buffer.from('x'), undefined, 'example.com/app:v1')).toThrow(/^example.com\/app:v1: /)
  })
})

describe('what a manifest references', () => {
  test('an image: config and layers as written, whatever the config type (Helm)', () => {
    const helm = { ...image, config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: D1, size: 5 } }
    const manifest = parseManifest(bytes(helm), 'application/vnd.oci.image.manifest.v1+json', 'ref')
    expect(blobsOf(manifest).map((d) => d.digest)).toEqual([D1, D2])
    expect(childManifests(manifest)).toEqual([])
  })
  test('an index: its manifests; subject and artifactType are kept', () => {
    const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D3, size: 1 }
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      artifactType: 'a/b',
      subject,
      manifests: [{ ...subject, digest: D1 }]
    }
    const manifest = parseManifest(bytes(index), undefined, 'ref')
    expect(childManifests(manifest).map((d) => d.digest)).toEqual([D1])
    expect(blobsOf(manifest)).toEqual([])
    expect(manifest.subject?.digest).toBe(D3)
    expect(manifest.artifactType).toBe('a/b')
  })
})

describe('media types', () => {
  test.each([
    ['application/vnd.oci.image.index.v1+json', 'index'],
    ['application/vnd.docker.distribution.manifest.list.v2+json', 'index'],
    ['application/vnd.oci.image.manifest.v1+json', 'image'],
    ['application/vnd.docker.distribution.manifest.v2+json', 'image'],
    ['application/vnd.docker.distribution.manifest.v1+json', undefined],
    ['application/json', undefined]
  ])('manifestKind(%s) = %s', (mediaType, kind) => {
    expect(manifestKind(mediaType)).toBe(kind)
  })

  test.each([
    ['application/vnd.oci.image.layer.v1.tar+gzip', true],
    ['application/vnd.cncf.helm.chart.content.v1.tar+gzip', true],
    ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', false],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', false]
  ])('isDistributable(%s) = %s', (mediaType, expected) => {
    expect(isDistributable(mediaType)).toBe(expected)
  })

  test('Content-Type parameters are dropped', () => {
    expect(baseMediaType('Application/JSON; charset=utf-8')).toBe('application/json')
    expect(baseMediaType('')).toBeUndefined()
  })

  test('Accept names every manifest kind, then any type as a fallback', () => {
    for (const type of [
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json'
    ]) {
      expect(MANIFEST_ACCEPT).toContain(type)
    }
    expect(MANIFEST_ACCEPT.endsWith('*/*;q=0.1')).toBe(true)
  })
})
