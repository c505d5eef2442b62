import { describe, expect, test } from '@jest/globals'
import { copyGraph } from '../src/engine/copy-graph.js'
import { emptyStats, ignoreEvents } from '../src/engine/events.js'
import { artifactSize, distributableBlobs, fetchRoot, loadGraph, manifestsChildrenFirst, MAX_MANIFESTS } from '../src/engine/graph.js'
import { silentLogger } from '../src/log.js'
import { helmChart, image, imageWithForeignLayer, index, sha256 } from '../testbed/fixtures.js'
import { MemoryStore } from './helpers/memory-store.js'

const amd64 = image({ seed: 'a', layers: 2 })
const arm64 = image({ seed: 'b', layers: 2, architecture: 'arm64' })
// Both platforms share a layer: it must be counted and copied once.
const shared = image({ seed: 'a', layers: 1, architecture: 'riscv64' })
const multi = index([amd64, arm64, shared])

async function graphOf(fixture: typeof multi) {
  const source = MemoryStore.with('src', fixture, 'v1')
  const root = await fetchRoot(source, 'v1')
  return { source, graph: await loadGraph(source, root) }
}

describe('loading a graph', () => {
  test('fetches every manifest below an index, nested ones too', async () => {
    const leaf = image({ seed: 'x' })
    const inner = index([leaf])
    const outer = index([inner, image({ seed: 'y' })])
    const { graph } = await graphOf(outer)
    expect(graph.nodes.size).toBe(4)
    const order = manifestsChildrenFirst(graph).map((n) => n.descriptor.digest)
    expect(order.indexOf(leaf.root.digest)).toBeLessThan(order.indexOf(inner.root.digest))
    expect(order[order.length - 1]).toBe(outer.root.digest)
  })

  test('children come before parents and the root is last', async () => {
    const { graph } = await graphOf(multi)
    const order = manifestsChildrenFirst(graph).map((n) => n.descriptor.digest)
    expect(order).toEqual([amd64.root.digest, arm64.root.digest, shared.root.digest, multi.root.digest])
  })

  test('a child whose bytes do not match its descriptor is refused', async () => {
    const source = MemoryStore.with('src', multi, 'v1')
    source.manifests.set(amd64.root.digest, {
      bytes: Buffer.from(amd64.root.bytes.toString().replace('"size"', ' "size"')),
      mediaType: amd64.root.mediaType
    })
    await expect(loadGraph(source, await fetchRoot(source, 'v1'))).rejects.toThrow(/has \d+ bytes, its descriptor says/)
  })

  test('a root fetched by digest must have that digest', async () => {
    const source = MemoryStore.with('src', amd64, 'v1')
    source.manifests.set(arm64.root.digest, { bytes: amd64.root.bytes, mediaType: amd64.root.mediaType })
    await expect(fetchRoot(source, arm64.root.digest)).rejects.toThrow(/expected sha256/)
  })
})

describe('a graph is bounded by what we count, not by what the source says (issue 21)', () => {
  test('an index naming one child 5,000 times fetches it once', async () => {
    const child = image({ seed: 'fan-out' })
    const { source, graph } = await graphOf(index(Array.from({ length: 5000 }, () => child)))
    expect(source.calls.filter((call) => call === `fetchManifest ${child.root.digest}`)).toHaveLength(1)
    expect(graph.nodes.size).toBe(2)
  })

  test('an index naming more manifests than the limit is refused before any child is fetched, the index named', async () => {
    const manifests = Array.from({ length: MAX_MANIFESTS + 1 }, (_, i) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${i.toString(16).padStart(64, '0')}`,
      size: 100
    }))
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }))
    const source = new MemoryStore('src')
    source.manifests.set(sha256(bytes), { bytes, mediaType: 'application/vnd.oci.image.index.v1+json' })
    source.tags.set('v1', sha256(bytes))
    const root = await fetchRoot(source, 'v1')
    await expect(loadGraph(source, root)).rejects.toThrow(`src@${sha256(bytes)}: index names ${MAX_MANIFESTS + 1} manifests`)
    expect(source.calls).toEqual(['fetchManifest v1'])
  })

  test('one digest named with two sizes is a contradiction', async () => {
    const child = image({ seed: 'two-sizes' })
    const fixture = index([child, child])
    const json = JSON.parse(fixture.root.bytes.toString('utf8')) as { manifests: Array<{ size: number }> }
    json.manifests[1].size += 1
    const bytes = Buffer.from(JSON.stringify(json))
    const source = MemoryStore.with('src', fixture, 'v1')
    source.manifests.set(sha256(bytes), { bytes, mediaType: fixture.root.mediaType })
    source.tags.set('v1', sha256(bytes))
    await expect(loadGraph(source, await fetchRoot(source, 'v1'))).rejects.toThrow(/with sizes \d+ and \d+/)
  })
})

describe('blobs and size', () => {
  test('each distributable blob once: shared layers, and foreign layers left out', async () => {
    const { graph } = await graphOf(multi)
    const blobs = distributableBlobs(graph.nodes.values())
    const expected = new Set([...amd64.blobs, ...arm64.blobs, ...shared.blobs].map((b) => b.digest))
    expect(blobs.map((b) => b.digest).sort()).toEqual([...expected].sort())
    expect(artifactSize(graph)).toBe(
      [...new Map([...amd64.blobs, ...arm64.blobs, ...shared.blobs].map((b) => [b.digest, b.size])).values()].reduce((a, b) => a + b, 0)
    )

    const foreign = imageWithForeignLayer('f')
    const { graph: fg } = await graphOf(foreign)
    expect(distributableBlobs(fg.nodes.values()).map((b) => b.digest)).not.toContain(foreign.foreign.digest)
    expect(artifactSize(fg)).toBe(foreign.blobs.reduce((a, b) => a + b.size, 0))
  })

  test('a Helm chart: config and chart layer, whatever the config type', async () => {
    const chart = helmChart('redis', '19.0.0')
    const { graph } = await graphOf(chart)
    expect(distributableBlobs(graph.nodes.values()).map((b) => b.mediaType)).toEqual([
      'application/vnd.cncf.helm.config.v1+json',
      'application/vnd.cncf.helm.chart.content.v1.tar+gzip'
    ])
  })
})

describe('copyGraph', () => {
  test('blobs first, then manifests children first; the bytes arrive unchanged', async () => {
    const { source, graph } = await graphOf(multi)
    const target = new MemoryStore('dst')
    const stats = emptyStats()
    await copyGraph(graph, source, target, { concurrency: 3, logger: silentLogger, events: ignoreEvents, stats })
    const pushes = target.calls.filter((c) => c.startsWith('push'))
    const lastBlob = pushes.map((c) => c.startsWith('pushBlob')).lastIndexOf(true)
    const firstManifest = pushes.findIndex((c) => c.startsWith('pushManifest'))
    expect(lastBlob).toBeLessThan(firstManifest)
    expect(pushes.slice(firstManifest)).toEqual([amd64, arm64, shared, multi].map((f) => `pushManifest ${f.root.digest}`))
    for (const blob of [...amd64.blobs, ...arm64.blobs]) expect(target.blobs.get(blob.digest)).toEqual(blob.bytes)
    expect(stats.blobsUploaded).toBe(distributableBlobs(graph.nodes.values()).length)
    expect(target.tags.size).toBe(0)
  })

  test('a manifest the target has stands for its subtree: nothing below it is asked for', async () => {
    const { source, graph } = await graphOf(index([amd64, arm64]))
    const target = MemoryStore.with('dst', amd64, 'old')
    const stats = emptyStats()
    await copyGraph(graph, source, target, { concurrency: 2, logger: silentLogger, events: ignoreEvents, stats })
    for (const blob of amd64.blobs) {
      expect(target.calls).not.toContain(`blobExists ${blob.digest}`)
      expect(target.calls).not.toContain(`pushBlob ${blob.digest}`)
    }
    expect(target.calls).not.toContain(`pushManifest ${amd64.root.digest}`)
    expect(stats.blobsSkipped).toBeGreaterThanOrEqual(amd64.blobs.length)
  })

  test.each([
    [1, 1],
    [2, 7]
  ])('small blobs: four times `concurrency` (%i) at once, one at a time for 1 (peak %i)', async (concurrency, peak) => {
    const { source, graph } = await graphOf(multi)
    const blobs = distributableBlobs(graph.nodes.values()).length
    expect(blobs).toBe(7)
    const target = new MemoryStore('dst')
    target.pushDelay = 20
    await copyGraph(graph, source, target, { concurrency, logger: silentLogger, events: ignoreEvents, stats: emptyStats() })
    expect(target.peakInFlight).toBe(peak)
    expect(target.calls.filter((c) => c.startsWith('pushBlob'))).toHaveLength(blobs)
  })

  test('large blobs: at most `concurrency` at once, the largest first', async () => {
    const big = image({ seed: 'graph-large', layers: 5, layerSize: 4 * 1024 * 1024 + 1 })
    const { source, graph } = await graphOf(big)
    const target = new MemoryStore('dst')
    target.pushDelay = 20
    await copyGraph(graph, source, target, { concurrency: 2, logger: silentLogger, events: ignoreEvents, stats: emptyStats() })
    const pushes = target.calls.filter((c) => c.startsWith('pushBlob'))
    expect(pushes).toHaveLength(6)
    // The five layers (each past the small-blob size) two at a time; the config beside them.
    expect(target.peakInFlight).toBe(3)
  })

  test('a blob the target already has is not pushed again, even when its manifest is missing', async () => {
    const { source, graph } = await graphOf(amd64)
    const target = new MemoryStore('dst')
    const present = amd64.blobs[1]
    target.blobs.set(present.digest, present.bytes)
    const stats = emptyStats()
    await copyGraph(graph, source, target, { concurrency: 2, logger: silentLogger, events: ignoreEvents, stats })
    expect(target.calls).not.toContain(`pushBlob ${present.digest}`)
    expect(stats.blobsSkipped).toBe(1)
    expect(stats.blobsUploaded).toBe(amd64.blobs.length - 1)
  })

  test('a target that has the root gets nothing: its manifests asked at once, no blob asked, nothing pushed', async () => {
    const { source, graph } = await graphOf(multi)
    const target = MemoryStore.with('dst', multi, 'old')
    await copyGraph(graph, source, target, { concurrency: 2, logger: silentLogger, events: ignoreEvents, stats: emptyStats() })
    expect(target.calls.filter((c) => !c.startsWith('manifestExists'))).toEqual([])
    expect(target.calls).toContain(`manifestExists ${multi.root.digest}`)
  })

  test('a failing blob stops the copy before any manifest is pushed', async () => {
    const { source, graph } = await graphOf(multi)
    source.blobs.delete(arm64.blobs[1].digest)
    const target = new MemoryStore('dst')
    await expect(
      copyGraph(graph, source, target, { concurrency: 2, logger: silentLogger, events: ignoreEvents, stats: emptyStats() })
    ).rejects.toThrow(/no blob/)
    expect(target.calls.some((c) => c.startsWith('pushManifest'))).toBe(false)
  })
})
