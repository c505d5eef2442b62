/** distribution's storage paths (registry/storage/paths.go) as a registry storage tree in a tar names them. */
import { describe, expect, test } from '@jest/globals'
import { blobDataPath, isStorageBlob, tagLinkOf } from '../src/archive/registry-storage-paths.js'

const HEX = 'ab'.repeat(32)

describe('tagLinkOf: manifestTagCurrentPathSpec', () => {
  test.each([
    ['docker/registry/v2/repositories/app/_manifests/tags/v1/current/link', { repository: 'app', tag: 'v1' }],
    ['docker/registry/v2/repositories/library/nginx/_manifests/tags/1.25/current/link', { repository: 'library/nginx', tag: '1.25' }],
    ['docker/registry/v2/repositories/a/b/c/_manifests/tags/latest/current/link', { repository: 'a/b/c', tag: 'latest' }],
    // `_manifests` inside the name makes a repository the grammar refuses, never another split.
    [
      'docker/registry/v2/repositories/a/_manifests/tags/x/current/link/_manifests/tags/y/current/link',
      { repository: 'a/_manifests/tags/x/current/link', tag: 'y' }
    ]
  ])('%s', (name, expected) => {
    expect(tagLinkOf(name)).toEqual(expected)
  })

  test.each([
    ['a revision link', `docker/registry/v2/repositories/app/_manifests/revisions/sha256/${HEX}/link`],
    ['a layer link', `docker/registry/v2/repositories/app/_layers/sha256/${HEX}/link`],
    ["a tag's index entry", `docker/registry/v2/repositories/app/_manifests/tags/v1/index/sha256/${HEX}/link`],
    ['a tree under another root', 'data/docker/registry/v2/repositories/app/_manifests/tags/v1/current/link'],
    ['no repository', 'docker/registry/v2/repositories/_manifests/tags/v1/current/link']
  ])('%s is no tag link', (_name, name) => {
    expect(tagLinkOf(name)).toBeUndefined()
  })
})

describe('blobDataPath: blobDataPathSpec', () => {
  test('the first two hex digits, then the whole', () => {
    const path = blobDataPath(`sha256:${HEX}`)
    expect(path).toBe(`docker/registry/v2/blobs/sha256/ab/${HEX}/data`)
    expect(isStorageBlob(path)).toBe(true)
  })

  test.each(['sha256:../../../../etc/passwd', `sha256:${HEX}/../x`, 'sha256:AB', ''])('%j never becomes a path', (digest) => {
    expect(() => blobDataPath(digest)).toThrow(/is not a digest/)
  })
})
