/**
 * An upload's `Location` is the registry's: its query (a `_state` token, a signature) goes back as
 * it was written, with `digest=` added (PEERS "Everywhere"), never re-encoded.
 */
import { describe, expect, test } from '@jest/globals'
import { withDigest } from '../src/registry/repository.js'

const digest = 'sha256:' + 'ab'.repeat(32)

describe('withDigest', () => {
  test('a Location without a query gets ?digest=', () => {
    expect(withDigest('http://127.0.0.1:5000/v2/app/blobs/uploads/1234', digest)).toBe(
      `http://127.0.0.1:5000/v2/app/blobs/uploads/1234?digest=sha256%3A${'ab'.repeat(32)}`
    )
  })

  test("a Location's query is kept byte for byte: ~, %20 and + are not re-encoded", () => {
    const location = 'https://r.example/v2/app/blobs/uploads/u?_state=a~b%20c+d%2Fe&X-Amz-Signature=0f'
    expect(withDigest(location, digest)).toBe(`${location}&digest=sha256%3A${'ab'.repeat(32)}`)
  })

  test('a digest the Location already carries is replaced, not repeated', () => {
    expect(withDigest('http://h/v2/a/blobs/uploads/u?digest=sha256%3A00&_state=s', digest)).toBe(
      `http://h/v2/a/blobs/uploads/u?_state=s&digest=sha256%3A${'ab'.repeat(32)}`
    )
  })
})
