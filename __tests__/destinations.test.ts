import { expect, test } from '@jest/globals'
import { destinationName, planDestinations } from '../src/engine/destinations.js'
import { parseEndpoint } from '../src/endpoint.js'

const D = `sha256:${'d'.repeat(64)}`
const plan = (src: string, ...dests: string[]) =>
  planDestinations(parseEndpoint(src), dests.map(parseEndpoint)).map((d) => [destinationName(d, D), d.unchanged])

test.each([
  ['a tag on the destination is used', 'r.io/app:v1', ['r.io/app:v2'], [['r.io/app:v2', false]]],
  ['no tag keeps the source tag', 'r.io/app:v1', ['q.io/mirror/app'], [['q.io/mirror/app:v1', false]]],
  ['tag and digest source: its tag is kept', `r.io/app:v1@${D}`, ['q.io/app'], [['q.io/app:v1', false]]],
  ['digest-only source, no destination tag: by digest', `r.io/app@${D}`, ['q.io/app'], [[`q.io/app@${D}`, false]]],
  ['digest-only source, destination tag', `r.io/app@${D}`, ['q.io/app:rel'], [['q.io/app:rel', false]]],
  ['same repository and tag: nothing to write', 'r.io/app:v1', ['r.io/app:v1', 'r.io/app'], [['r.io/app:v1', true]]],
  ['same repository and tag, pinned by digest: written', `r.io/app:v1@${D}`, ['r.io/app:v1'], [['r.io/app:v1', false]]],
  [
    'several, in order, duplicates once',
    'r.io/app:v1',
    ['r.io/app:v1.2', 'r.io/app:latest', 'r.io/app:v1.2'],
    [
      ['r.io/app:v1.2', false],
      ['r.io/app:latest', false]
    ]
  ]
])('%s', (_name, src, dests, expected) => {
  expect(plan(src, ...dests)).toEqual(expected)
})
