/** What a target lacks of a graph (missing-manifests.ts): small graphs asked at once, large ones top down. */
import { describe, expect, test } from '@jest/globals'
import { fetchRoot, loadGraph } from '../src/engine/graph.js'
import { missingManifests } from '../src/engine/missing-manifests.js'
import { image, index, type Fixture } from '../testbed/fixtures.js'
import { MemoryStore } from './helpers/memory-store.js'

async function graphOf(fixture: Fixture) {
  const source = MemoryStore.with('src', fixture, 'v1')
  return loadGraph(source, await fetchRoot(source, 'v1'))
}

const images = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => image({ seed: `${prefix}-${i}`, layers: 1 }))
const heads = (store: MemoryStore) => store.calls.filter((call) => call.startsWith('manifestExists'))

describe('missingManifests', () => {
  test('a small graph: every manifest asked at once, a present child left out', async () => {
    const children = images('mm-small', 3)
    const fixture = index(children)
    const graph = await graphOf(fixture)
    const target = MemoryStore.with('dst', children[0], 'old')
    const missing = await missingManifests(graph, target)
    expect([...missing].sort()).toEqual([fixture.root.digest, children[1].root.digest, children[2].root.digest].sort())
    expect(heads(target)).toHaveLength(4)
  })

  test('a large graph (more than 32 manifests): top down, so a present root is the only question', async () => {
    const fixture = index(images('mm-large', 40))
    const graph = await graphOf(fixture)
    const target = MemoryStore.with('dst', fixture, 'old')
    expect(await missingManifests(graph, target)).toEqual(new Set())
    expect(heads(target)).toEqual([`manifestExists ${fixture.root.digest}`])
  })

  test('answers asked early are used, not asked again', async () => {
    const children = images('mm-early', 2)
    const fixture = index(children)
    const graph = await graphOf(fixture)
    const target = new MemoryStore('dst')
    const asked = new Map([fixture.root, ...children.map((c) => c.root)].map((m) => [m.digest, Promise.resolve(m !== fixture.root)]))
    expect(await missingManifests(graph, target, asked)).toEqual(new Set([fixture.root.digest]))
    expect(heads(target)).toEqual([])
  })
})
