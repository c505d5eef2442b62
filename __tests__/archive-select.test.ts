import { describe, expect, test } from '@jest/globals'
import { isLayoutBlob } from '../src/archive/gzip-container.js'
import { detectContainer } from '../src/archive/open-archive.js'
import { planArchivePushes, splitImageName, type ArchiveDestination } from '../src/archive/select.js'
import { parsePax } from '../src/archive/tar-file.js'
import { linkTarget, normaliseName } from '../src/archive/tar-entries.js'
import { formatEndpoint, parseEndpoint } from '../src/endpoint.js'
import { InputError } from '../src/errors.js'
import { parsePlatform } from '../src/platform.js'

const D = (c: string) => `sha256:${c.repeat(64)}`
const img = (digest: string, name?: string, arch?: string) => ({
  descriptor: {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest,
    size: 100,
    ...(arch ? { platform: { os: 'linux', architecture: arch } } : {})
  },
  ...(name ? { name } : {})
})
const exact = (text: string): ArchiveDestination => ({ kind: 'exact', endpoint: parseEndpoint(text) })
const plan = (
  images: ReturnType<typeof img>[],
  destinations: ArchiveDestination[],
  extra: { digest?: string; platforms?: string[] } = {}
) =>
  planArchivePushes('a.tar', images, {
    destinations,
    platforms: (extra.platforms ?? []).map((p) => parsePlatform(p)!),
    ...(extra.digest ? { digest: extra.digest } : {})
  }).map((p) => [p.image.descriptor.digest, p.destinations.map(formatEndpoint)])

describe('splitImageName', () => {
  test.each([
    ['nginx:1.27', { path: 'nginx', tag: '1.27' }],
    ['docker.io/library/nginx:1.27', { path: 'library/nginx', tag: '1.27' }],
    ['localhost:5000/team/app:v1', { path: 'team/app', tag: 'v1' }],
    ['team/app', { path: 'team/app' }],
    ['v1.0', { tag: 'v1.0' }],
    ['app@sha256:abc', { path: 'app' }]
  ])('%s', (name, expected) => {
    expect(splitImageName(name)).toEqual(expected)
  })
})

describe('planArchivePushes', () => {
  test('destRef without a tag: each image under its own tag; several names of one image, one copy', () => {
    expect(plan([img(D('a'), 'app:1.0'), img(D('a'), 'app:latest'), img(D('b'), 'other:2')], [exact('r.io/x')])).toEqual([
      [D('a'), ['r.io/x:1.0', 'r.io/x:latest']],
      [D('b'), ['r.io/x:2']]
    ])
  })

  test('a prefix keeps the repository path; a tag on destRef takes one image', () => {
    expect(plan([img(D('a'), 'docker.io/team/app:1.0')], [{ kind: 'prefix', prefix: 'ghcr.io/org/' }])).toEqual([
      [D('a'), ['ghcr.io/org/team/app:1.0']]
    ])
    expect(plan([img(D('a'))], [exact('r.io/x:v9')])).toEqual([[D('a'), ['r.io/x:v9']]])
  })

  test('one unnamed image and no tag anywhere: pushed by digest', () => {
    expect(plan([img(D('a'))], [exact('r.io/x')])).toEqual([[D('a'), ['r.io/x']]])
  })

  test('platforms and @digest choose among entries', () => {
    const both = [img(D('a'), undefined, 'amd64'), img(D('b'), undefined, 'arm64')]
    expect(plan(both, [exact('r.io/x:v1')], { platforms: ['linux/arm64'] })).toEqual([[D('b'), ['r.io/x:v1']]])
    expect(plan(both, [exact('r.io/x:v1')], { digest: D('a') })).toEqual([[D('a'), ['r.io/x:v1']]])
  })

  test.each([
    [
      'several images, a tag on destRef',
      [img(D('a'), 'a:1'), img(D('b'), 'b:1')],
      [exact('r.io/x:v1')],
      {},
      /a destination with a tag takes one image/
    ],
    ['several unnamed images, no tag', [img(D('a')), img(D('b'))], [exact('r.io/x')], {}, /holds 2 images without a tag/],
    ['a prefix for an unnamed image', [img(D('a'))], [{ kind: 'prefix' as const, prefix: 'r.io/' }], {}, /has no repository name/],
    ['a digest the archive lacks', [img(D('a'))], [exact('r.io/x')], { digest: D('c') }, /has no image sha256:c/]
  ])('%s: an error', (_name, images, destinations, extra, problem) => {
    expect(() => plan(images, destinations, extra)).toThrow(InputError)
    expect(() => plan(images, destinations, extra)).toThrow(problem)
  })
})

describe('platforms that match no image of an archive', () => {
  test.each([
    [
      'one image with a platform',
      [img(D('a'), 'app:v1', 'amd64')],
      ['linux/arm64'],
      `platforms: linux/arm64 matches no image in a.tar; it holds ${D('a')} application/vnd.oci.image.manifest.v1+json linux/amd64 (app:v1); give platforms that are there`
    ],
    [
      'several images, several platforms: each image listed with its name',
      [img(D('a'), 'app:v1', 'amd64'), img(D('b'), 'app:v2', 'arm64')],
      ['linux/s390x', 'linux/ppc64le'],
      `platforms: linux/s390x, linux/ppc64le match no image in a.tar; it holds ${D('a')} application/vnd.oci.image.manifest.v1+json linux/amd64 (app:v1); ${D('b')} application/vnd.oci.image.manifest.v1+json linux/arm64 (app:v2); give platforms that are there`
    ]
  ])('%s: an error naming platforms and listing what is there', (_name, images, platforms, message) => {
    const error = (() => {
      try {
        plan(images, [exact('r.io/x')], { platforms })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).input).toBe('platforms')
    expect((error as Error).message).toBe(message)
  })

  test('an entry without a platform (an index) is kept: the copy filters inside it', () => {
    expect(plan([img(D('a'), 'app:v1')], [exact('r.io/x')], { platforms: ['linux/s390x'] })).toEqual([[D('a'), ['r.io/x:v1']]])
  })
})

describe('recognising archives and their entries', () => {
  const tarHeader = () => {
    const block = Buffer.alloc(512)
    block.write('ustar', 257)
    return block
  }
  test.each([
    ['gzip', Buffer.from([0x1f, 0x8b, 8, 0]), 'gzip'],
    ['ustar', tarHeader(), 'tar']
  ])('%s', (_name, head, kind) => {
    expect(detectContainer(head, 'f')).toBe(kind)
  })

  test.each([
    ['text', Buffer.from('hello world, this is text'), /it starts with "hello world, thi"/],
    ['JSON', Buffer.from('{"a":1}'), /it looks like JSON/],
    ['a zip', Buffer.from('PK\x03\x04rest', 'latin1'), /it is a zip file/],
    ['an empty file', Buffer.alloc(0), /it is empty/]
  ])('%s is not an archive, and the error says what it is', (_name, head, problem) => {
    expect(() => detectContainer(head, 'f')).toThrow(problem)
  })

  test('names and links stay inside the root', () => {
    expect(normaliseName('./blobs/sha256/ab', 'a')).toBe('blobs/sha256/ab')
    expect(normaliseName('x/../y', 'a')).toBe('y')
    expect(() => normaliseName('x/../../y', 'a')).toThrow(/points outside/)
    expect(linkTarget({ name: 'id/layer.tar', type: 'symlink' }, '../abc.tar', 'a')).toBe('abc.tar')
    expect(() => linkTarget({ name: 'id/layer.tar', type: 'symlink' }, '../../abc.tar', 'a')).toThrow(/points outside/)
  })

  test.each([
    ['blobs/sha256/0123abcd', true],
    ['blobs/sha512/ff', true],
    ['abc123/layer.tar', false],
    ['0123abcd.tar', false],
    ['blobs/sha256', false],
    ['blobs/sha256/x/layer.tar', false]
  ])('%s is OCI layout content (pushed as it is, never measured): %s', (name, expected) => {
    expect(isLayoutBlob(name)).toBe(expected)
  })

  test('pax records', () => {
    const record = (key: string, value: string) => {
      const body = ` ${key}=${value}\n`
      let length = body.length + 2
      if (String(length).length + body.length !== length) length = String(length + 1).length + body.length
      return `${length}${body}`
    }
    expect(parsePax(Buffer.from(record('path', 'a/very/long/name') + record('size', '123')))).toEqual({
      path: 'a/very/long/name',
      size: '123'
    })
  })
})

describe('layer compression level', () => {
  test('incompressible bytes are stored (level 0), text is deflated (level 6), decided by content alone', async () => {
    const { chooseLevel, measureCompressed } = await import('../src/archive/layer-compression.js')
    const { fastNoise } = await import('../testbed/fixtures.js')
    const { Readable } = await import('node:stream')
    expect(chooseLevel(fastNoise('level', 1024 * 1024))).toBe(0)
    expect(chooseLevel(Buffer.from('hello layer\n'.repeat(100_000)))).toBe(1)
    const noise = fastNoise('level-2', 3 * 1024 * 1024)
    const first = await measureCompressed(Readable.from([noise.subarray(0, 100), noise.subarray(100)]))
    const second = await measureCompressed(Readable.from([noise]))
    expect(second).toEqual(first)
    expect(first.level).toBe(0)
    expect(first.size).toBeGreaterThan(noise.length)
  })
})
