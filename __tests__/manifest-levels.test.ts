/** Missing manifests written level by level (manifest-levels.ts), and the hint for registries that refuse annotated Docker manifests. */
import { describe, expect, test } from '@jest/globals'
import { fetchRoot, loadGraph } from '../src/engine/graph.js'
import { manifestLevels, pushManifest } from '../src/engine/manifest-levels.js'
import { RegistryError } from '../src/errors.js'
import { image, index, type Fixture } from '../testbed/fixtures.js'
import { MemoryStore } from './helpers/memory-store.js'

async function graphOf(fixture: Fixture) {
  const source = MemoryStore.with('src', fixture, 'v1')
  return loadGraph(source, await fetchRoot(source, 'v1'))
}

const a = image({ seed: 'levels-a' })
const b = image({ seed: 'levels-b', architecture: 'arm64' })
const c = image({ seed: 'levels-c', architecture: 's390x' })
const inner = index([a, b])
const outer = index([inner, c])

describe('manifestLevels', () => {
  test('children before parents, each level together, the root alone and last', async () => {
    const graph = await graphOf(outer)
    const levels = manifestLevels(graph, new Set(graph.nodes.keys()))
    expect(levels.map((level) => level.map((n) => n.descriptor.digest).sort())).toEqual([
      [a.root.digest, b.root.digest, c.root.digest].sort(),
      [inner.root.digest],
      [outer.root.digest]
    ])
  })

  test('only what is missing: a present child leaves no empty level behind', async () => {
    const graph = await graphOf(outer)
    const levels = manifestLevels(graph, new Set([outer.root.digest, c.root.digest]))
    expect(levels.map((level) => level.map((n) => n.descriptor.digest))).toEqual([[c.root.digest], [outer.root.digest]])
  })
})

describe('pushManifest', () => {
  const refusing = (error: Error) => {
    const target = new MemoryStore('dst')
    target.pushManifest = () => Promise.reject(error)
    return target
  }
  const badRequest = () => new RegistryError('push manifest', 'dst', 400, [{ code: 'MANIFEST_INVALID', message: 'bad' }])

  test('a 400 for a Docker list with annotations says how to get past it', async () => {
    const graph = await graphOf(index([image({ seed: 'levels-d', docker: true })], { docker: true, annotations: { a: 'b' } }))
    await expect(pushManifest(refusing(badRequest()), graph.root)).rejects.toThrow('ociMediaTypes')
  })

  test.each([
    ['an OCI index with annotations', index([a], { annotations: { a: 'b' } })],
    ['a Docker list without annotations', index([image({ seed: 'levels-e', docker: true })], { docker: true })]
  ])('%s: the error as it came', async (_, fixture) => {
    const graph = await graphOf(fixture)
    const error = badRequest()
    await expect(pushManifest(refusing(error), graph.root)).rejects.toBe(error)
  })
})
