/**
 * DESIGN §4 "byte exact": manifests as BuildKit, `docker push` and umoci write them (indented,
 * newline-terminated) keep their bytes unless something really changes them.
 */
import { describe, expect, test } from '@jest/globals'
import { parseAnnotations } from '../src/annotations.js'
import { rewriteGraph } from '../src/engine/annotate.js'
import { fetchRoot, loadGraph, type ArtifactGraph } from '../src/engine/graph.js'
import { selectPlatforms } from '../src/engine/platform-filter.js'
import { sha256 } from '../src/digest.js'
import { parsePlatform, type PlatformSpec } from '../src/platform.js'
import { descriptor, image, index, JSON_FORMATS, makeBlob, type Fixture, type JsonFormat } from '../testbed/fixtures.js'
import type { RawManifest } from '../testbed/tools.js'
import { MemoryStore } from './helpers/memory-store.js'

const noPlatform = () => Promise.resolve(undefined)
const json = (bytes: Buffer) => JSON.parse(bytes.toString('utf8')) as RawManifest
const specs = (...texts: string[]): PlatformSpec[] => texts.map((t) => parsePlatform(t)!)

function fixtures(format: JsonFormat) {
  const amd64 = image({ seed: `be-amd64-${format}`, format })
  const arm64 = image({ seed: `be-arm64-${format}`, architecture: 'arm64', format })
  const s390x = image({ seed: `be-s390x-${format}`, architecture: 's390x', format })
  const multi = index([amd64, arm64, s390x], { format, annotations: { existing: 'kept' } })
  return { amd64, arm64, s390x, multi }
}

async function graphOf(fixture: Fixture): Promise<ArtifactGraph> {
  const store = MemoryStore.with('src', fixture, 'v1')
  return loadGraph(store, await fetchRoot(store, 'v1'))
}

/** What the engine does with `platforms` and `annotations`: select, then rewrite. */
async function transform(fixture: Fixture, platforms: PlatformSpec[], annotations = '') {
  let graph = await graphOf(fixture)
  if (platforms.length > 0) graph = await selectPlatforms(graph, platforms, noPlatform)
  return rewriteGraph(graph, { rules: parseAnnotations(annotations), ociMediaTypes: false, imagePlatform: noPlatform })
}

describe.each(JSON_FORMATS)('manifests written %s', (format) => {
  const { amd64, arm64, s390x, multi } = fixtures(format)

  test('the fixtures are written as that tool writes them', () => {
    const text = multi.root.bytes.toString('utf8')
    expect(text.startsWith('{\n   "schemaVersion"')).toBe(format === 'indented')
    expect(text.endsWith('}\n')).toBe(format === 'newline')
  })

  test("one platform: that child's exact bytes and digest", async () => {
    const result = await transform(multi, specs('linux/arm64'))
    expect(result.graph.root.descriptor.digest).toBe(arm64.root.digest)
    expect(result.graph.root.bytes.equals(arm64.root.bytes)).toBe(true)
    expect(result.rewritten).toEqual([])
  })

  test("several platforms: the source's order whatever the input's order, children untouched", async () => {
    const one = await transform(multi, specs('linux/s390x', 'linux/amd64'))
    const other = await transform(multi, specs('linux/amd64', 'linux/s390x'))
    expect(one.graph.root.descriptor.digest).toBe(other.graph.root.descriptor.digest)
    const root = json(one.graph.root.bytes)
    expect(root.manifests?.map((d) => d.digest)).toEqual([amd64.root.digest, s390x.root.digest])
    expect(root.annotations).toEqual({ existing: 'kept' })
    expect(one.graph.nodes.get(amd64.root.digest)?.bytes.equals(amd64.root.bytes)).toBe(true)
    expect(one.graph.nodes.has(arm64.root.digest)).toBe(false)
  })

  test('every platform of the index asked for: the index as it is', async () => {
    const result = await transform(multi, specs('linux/s390x', 'linux/arm64', 'linux/amd64'))
    expect(result.graph.root.descriptor.digest).toBe(multi.root.digest)
    expect(result.graph.root.bytes.equals(multi.root.bytes)).toBe(true)
  })

  test('an index: rule rewrites the index alone; every child keeps its bytes', async () => {
    const result = await transform(multi, [], 'index:org.opencontainers.image.version=1.2.3')
    expect(result.rewritten.map((r) => r.from)).toEqual([multi.root.digest])
    for (const child of [amd64, arm64, s390x]) expect(result.graph.nodes.get(child.root.digest)?.bytes.equals(child.root.bytes)).toBe(true)
    expect(json(result.graph.root.bytes).manifests?.map((d) => d.digest)).toEqual(multi.children.map((c) => c.digest))
  })

  test('a manifest[linux/arm64] rule rewrites that child and the index; the others keep their bytes', async () => {
    const result = await transform(multi, [], 'manifest[linux/arm64/v8]:k=v')
    expect(result.rewritten.map((r) => r.from)).toEqual([arm64.root.digest, multi.root.digest])
    expect(result.graph.nodes.get(amd64.root.digest)?.bytes.equals(amd64.root.bytes)).toBe(true)
    const newArm = result.rewritten[0].to
    expect(json(result.graph.nodes.get(newArm)!.bytes).annotations).toEqual({ k: 'v' })
    expect(sha256(result.graph.nodes.get(newArm)!.bytes)).toBe(newArm)
  })

  test('an index: rule on a single image changes nothing at all', async () => {
    const result = await transform(amd64, [], 'index:org.opencontainers.image.version=1.2.3')
    expect(result.rewritten).toEqual([])
    expect(result.graph.root.bytes.equals(amd64.root.bytes)).toBe(true)
    expect(result.notices).toEqual([
      'annotation index:org.opencontainers.image.version ignored: the source is a single manifest, not an index'
    ])
  })

  test('a rule that sets a value already there changes nothing', async () => {
    const result = await transform(multi, [], 'index:existing=kept')
    expect(result.rewritten).toEqual([])
    expect(result.graph.root.bytes.equals(multi.root.bytes)).toBe(true)
  })
})

describe('platforms as containerd normalises them', () => {
  const platformIndex = (platforms: Array<Record<string, string>>) => {
    const images = platforms.map((p, i) => image({ seed: `norm-${i}`, layers: 1, ...p }))
    return { images, fixture: index(images) }
  }

  test.each([
    ['linux/arm64/v8', { architecture: 'arm64' }],
    ['linux/arm64', { architecture: 'arm64', variant: 'v8' }],
    ['linux/aarch64', { architecture: 'arm64' }],
    ['linux/arm/v7', { architecture: 'arm' }],
    ['linux/amd64/v1', { architecture: 'amd64' }],
    ['linux/x86_64', { architecture: 'amd64' }]
  ])('%s selects the image of %j', async (spec, platform) => {
    const { images, fixture } = platformIndex([{ architecture: 's390x' }, platform])
    const selected = await selectPlatforms(await graphOf(fixture), specs(spec), noPlatform)
    expect(selected.root.descriptor.digest).toBe(images[1].root.digest)
  })

  test('linux/arm with arm/v6 and arm/v7: the default variant v7, as containerd picks', async () => {
    const { images, fixture } = platformIndex([
      { architecture: 'arm', variant: 'v6' },
      { architecture: 'arm', variant: 'v7' }
    ])
    const selected = await selectPlatforms(await graphOf(fixture), specs('linux/arm'), noPlatform)
    expect(selected.root.descriptor.digest).toBe(images[1].root.digest)
  })

  test('linux/arm64/v8 does not match arm64/v9', async () => {
    const { fixture } = platformIndex([{ architecture: 'arm64', variant: 'v9' }])
    await expect(selectPlatforms(await graphOf(fixture), specs('linux/arm64/v8'), noPlatform)).rejects.toThrow(
      'platforms: linux/arm64/v8 is not in the source; it has linux/arm64/v9'
    )
  })

  test('a Docker manifest list keeps its media type when several platforms are selected', async () => {
    const a = image({ seed: 'norm-docker-a', docker: true })
    const b = image({ seed: 'norm-docker-b', docker: true, architecture: 'arm64' })
    const c = image({ seed: 'norm-docker-c', docker: true, architecture: 'ppc64le' })
    const list = index([a, b, c], { docker: true })
    const selected = await selectPlatforms(await graphOf(list), specs('linux/arm64', 'linux/amd64'), noPlatform)
    expect(selected.root.descriptor.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json')
    expect(json(selected.root.bytes).mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json')
    expect(json(selected.root.bytes).manifests?.map((d) => d.digest)).toEqual([a.root.digest, b.root.digest])
  })

  test('an attestation stays beside its image, in the source order', async () => {
    const a = image({ seed: 'norm-att-a' })
    const b = image({ seed: 'norm-att-b', architecture: 'arm64' })
    const c = image({ seed: 'norm-att-c', architecture: 'riscv64' })
    const att = image({ seed: 'norm-att' })
    const attDescriptor = descriptor(att.root, {
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': b.root.digest }
    })
    const mediaType = 'application/vnd.oci.image.index.v1+json'
    const manifests = [
      descriptor(a.root, { platform: { os: 'linux', architecture: 'amd64' } }),
      descriptor(b.root, { platform: { os: 'linux', architecture: 'arm64' } }),
      attDescriptor,
      descriptor(c.root, { platform: { os: 'linux', architecture: 'riscv64' } })
    ]
    const root = makeBlob(mediaType, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }, null, 3)))
    const fixture = { root, children: [a.root, b.root, att.root, c.root], blobs: [...a.blobs, ...b.blobs, ...att.blobs, ...c.blobs] }
    const selected = await selectPlatforms(await graphOf(fixture), specs('linux/riscv64', 'linux/arm64'), noPlatform)
    expect(json(selected.root.bytes).manifests?.map((d) => d.digest)).toEqual([b.root.digest, att.root.digest, c.root.digest])
  })
})

describe('Windows images for several OS builds', () => {
  const build = (seed: string) => image({ seed, os: 'windows', layers: 1 })
  const ltsc2019 = build('win-2019')
  const ltsc2022 = build('win-2022')
  const linux = image({ seed: 'win-linux', layers: 1 })
  const mediaType = 'application/vnd.oci.image.index.v1+json'
  const manifests = [
    descriptor(linux.root, { platform: { os: 'linux', architecture: 'amd64' } }),
    descriptor(ltsc2019.root, { platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.5329' } }),
    descriptor(ltsc2022.root, { platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.2227' } })
  ]
  const root = makeBlob(mediaType, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests })))
  const fixture = {
    root,
    children: [linux.root, ltsc2019.root, ltsc2022.root],
    blobs: [...linux.blobs, ...ltsc2019.blobs, ...ltsc2022.blobs]
  }

  test('windows/amd64 keeps every build of it, each host pulling its own', async () => {
    const selected = await selectPlatforms(await graphOf(fixture), specs('windows/amd64'), noPlatform)
    expect(json(selected.root.bytes).manifests?.map((d) => d.digest)).toEqual([ltsc2019.root.digest, ltsc2022.root.digest])
  })

  test('a platform not there names each build', async () => {
    await expect(selectPlatforms(await graphOf(fixture), specs('windows/arm64'), noPlatform)).rejects.toThrow(
      'platforms: windows/arm64 is not in the source; it has linux/amd64, windows(10.0.17763.5329)/amd64, windows(10.0.20348.2227)/amd64'
    )
  })
})
