/**
 * `index.json` of a layout directory or an archive, read before any of its digests becomes a
 * file name: entries whose digest is not `algorithm:hex` are refused naming the file.
 */
import { describe, expect, test } from '@jest/globals'
import { ContentError } from '../src/errors.js'
import { parseLayoutIndex } from '../src/layout/entries.js'

const GOOD = `sha256:${'a'.repeat(64)}`
const entry = (digest: unknown) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 2 })
const text = (...digests: unknown[]) => JSON.stringify({ schemaVersion: 2, manifests: digests.map(entry) })

describe('parseLayoutIndex', () => {
  test('a valid index is returned as it is', () => {
    expect(parseLayoutIndex(text(GOOD), 'l/index.json').manifests).toEqual([entry(GOOD)])
  })

  test.each([
    ['a path in the digest', text(GOOD, 'sha256:../../etc/passwd'), 'manifests[1] has digest "sha256:../../etc/passwd"'],
    ['an absolute path', text('sha256:/etc/passwd'), 'manifests[0] has digest "sha256:/etc/passwd"'],
    ['no algorithm', text('a'.repeat(64)), `manifests[0] has digest "${'a'.repeat(64)}"`],
    ['upper-case hex', text(`sha256:${'A'.repeat(64)}`), 'manifests[0] has digest "sha256:AAAA'],
    ['too short', text('sha256:abc'), 'manifests[0] has digest "sha256:abc"'],
    ['not a string', text(42), 'manifests[0] has digest 42'],
    ['missing', text(undefined), 'manifests[0] has no digest'],
    ['no manifests array', '{"schemaVersion":2}', 'is not an image index'],
    ['not JSON', '{', 'is not valid JSON']
  ])('%s: refused naming index.json', (_name, json, problem) => {
    const error = (() => {
      try {
        parseLayoutIndex(json, 'l/index.json')
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ContentError)
    expect((error as ContentError).reference).toBe('l/index.json')
    expect((error as Error).message).toContain(`l/index.json: ${problem}`)
  })
})
