import { expect, test } from '@jest/globals'
import { parseChallenges } from '../src/http/challenge.js'

test.each([
  [undefined, []],
  ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
  [
    'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"',
    [
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' }
      }
    ]
  ],
  [
    'Bearer realm=https://x/t, error=insufficient_scope',
    [{ scheme: 'bearer', params: { realm: 'https://x/t', error: 'insufficient_scope' } }]
  ],
  [
    'Basic realm="a", Bearer realm="b"',
    [
      { scheme: 'basic', params: { realm: 'a' } },
      { scheme: 'bearer', params: { realm: 'b' } }
    ]
  ],
  ['Basic realm="say \\"hi\\""', [{ scheme: 'basic', params: { realm: 'say "hi"' } }]],
  ['Negotiate', [{ scheme: 'negotiate', params: {} }]],
  ['BEARER Realm="r"', [{ scheme: 'bearer', params: { realm: 'r' } }]],
  [
    'Bearer realm="https://a/t",scope="repository:x:pull,push", Basic realm="b"',
    [
      { scheme: 'bearer', params: { realm: 'https://a/t', scope: 'repository:x:pull,push' } },
      { scheme: 'basic', params: { realm: 'b' } }
    ]
  ],
  [
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",error="insufficient_scope"',
    [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', error: 'insufficient_scope' } }]
  ]
])('%j', (header, expected) => {
  expect(parseChallenges(header)).toEqual(expected)
})
