/**
 * Annotations, media types and platforms applied to a graph, in memory. The graph tests run over
 * manifests written as the tools write them (JSON_FORMATS): compact, indented as BuildKit and
 * `docker push` write them, and with the trailing newline of Go's encoder; what nothing changes
 * keeps its bytes in each.
 */
import { describe, expect, test } from '@jest/globals'
import { parseAnnotations } from '../src/annotations.js'
import { rewriteGraph } from '../src/engine/annotate.js'
import { fetchRoot, loadGraph, type ArtifactGraph } from '../src/engine/graph.js'
import { convertManifestToOci } from '../src/engine/media-conversion.js'
import { selectPlatforms } from '../src/engine/platform-filter.js'
import { sha256 } from '../src/digest.js'
import { InputError } from '../src/errors.js'
import { parsePlatform } from '../src/platform.js'
import { descriptor, helmChart, image, index, JSON_FORMATS, makeBlob, type Fixture, type JsonFormat } from '../testbed/fixtures.js'
import type { RawManifest } from '../testbed/tools.js'
import { MemoryStore } from './helpers/memory-store.js'

/** JSON as a tool writing `format` writes it. */
function written(value: unknown, format: JsonFormat): Buffer {
  if (format === 'indented') return Buffer.from(JSON.stringify(value, null, 3))
  return Buffer.from(JSON.stringify(value) + (format === 'newline' ? '\n' : ''))
}

/** The images and indexes the tests use, written in `format`. */
function fixtures(format: JsonFormat) {
  const amd64 = image({ seed: 'rw-amd64', format })
  const arm64 = image({ seed: 'rw-arm64', architecture: 'arm64', variant: 'v8', format })
  const multi = index([amd64, arm64], { annotations: { existing: 'kept' }, format })
  /** An index with a BuildKit attestation manifest for the amd64 image. */
  const withAttestation = (): { fixture: Fixture; attestation: Fixture } => {
    const attestation = image({ seed: 'rw-att', format })
    const manifests = [
      descriptor(amd64.root, { platform: { os: 'linux', architecture: 'amd64' } }),
      descriptor(arm64.root, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
      descriptor(attestation.root, {
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd64.root.digest }
      })
    ]
    const mediaType = 'application/vnd.oci.image.index.v1+json'
    const root = makeBlob(mediaType, written({ schemaVersion: 2, mediaType, manifests }, format))
    return {
      fixture: {
        root,
        children: [amd64.root, arm64.root, attestation.root],
        blobs: [...amd64.blobs, ...arm64.blobs, ...attestation.blobs]
      },
      attestation
    }
  }
  return { amd64, arm64, multi, withAttestation }
}

async function graphOf(fixture: Fixture): Promise<ArtifactGraph> {
  const store = MemoryStore.with('src', fixture, 'v1')
  return loadGraph(store, await fetchRoot(store, 'v1'))
}

const noPlatform = () => Promise.resolve(undefined)
const json = (bytes: Buffer) => JSON.parse(bytes.toString('utf8')) as RawManifest

/** Every descriptor in every index matches the bytes of the manifest it names. */
function expectConsistent(graph: ArtifactGraph): void {
  for (const node of graph.nodes.values()) {
    expect(sha256(node.bytes)).toBe(node.descriptor.digest)
    expect(node.bytes.length).toBe(node.descriptor.size)
    for (const d of (json(node.bytes).manifests ?? []) as Array<{ digest: string; size: number }>) {
      const child = graph.nodes.get(d.digest)
      expect(child).toBeDefined()
      expect(child?.bytes.length).toBe(d.size)
    }
  }
}

describe.each(JSON_FORMATS)('rewriteGraph (%s JSON)', (format) => {
  const { amd64, arm64, multi, withAttestation } = fixtures(format)

  test('manifest annotations change every image; the index descriptors follow, up to the root', async () => {
    const graph = await graphOf(multi)
    const result = await rewriteGraph(graph, { rules: parseAnnotations('k=v\nindex:i=1'), ociMediaTypes: false, imagePlatform: noPlatform })
    expectConsistent(result.graph)
    expect(result.rewritten.map((r) => r.from)).toEqual([amd64.root.digest, arm64.root.digest, multi.root.digest])
    const root = json(result.graph.root.bytes)
    expect(root.annotations).toEqual({ existing: 'kept', i: '1' })
    for (const d of root.manifests as Array<{ digest: string }>)
      expect(json(result.graph.nodes.get(d.digest)!.bytes).annotations).toEqual({ k: 'v' })
  })

  test('the same inputs give the same digests; keys already there keep their place', async () => {
    const rules = parseAnnotations('index:existing=replaced\nindex:new=1')
    const first = await rewriteGraph(await graphOf(multi), { rules, ociMediaTypes: false, imagePlatform: noPlatform })
    const second = await rewriteGraph(await graphOf(multi), { rules, ociMediaTypes: false, imagePlatform: noPlatform })
    expect(first.graph.root.descriptor.digest).toBe(second.graph.root.descriptor.digest)
    expect(Object.keys(json(first.graph.root.bytes).annotations as object)).toEqual(['existing', 'new'])
    // Only the index changed: the images keep their bytes.
    expect(first.rewritten).toHaveLength(1)
  })

  test('platform-scoped annotations and descriptor annotations land where their scope says', async () => {
    const rules = parseAnnotations('manifest[linux/arm64]:arm=yes\nmanifest-descriptor[linux/amd64]:desc=amd')
    const result = await rewriteGraph(await graphOf(multi), { rules, ociMediaTypes: false, imagePlatform: noPlatform })
    expectConsistent(result.graph)
    const root = json(result.graph.root.bytes)
    const [amdDesc, armDesc] = root.manifests as Array<{ digest: string; annotations?: Record<string, string> }>
    expect(amdDesc.annotations).toEqual({ desc: 'amd' })
    expect(armDesc.annotations).toBeUndefined()
    expect(amdDesc.digest).toBe(amd64.root.digest)
    expect(json(result.graph.nodes.get(armDesc.digest)!.bytes).annotations).toEqual({ arm: 'yes' })
  })

  test("an attestation's vnd.docker.reference.digest follows its image's new digest; the attestation is not annotated", async () => {
    const { fixture, attestation } = withAttestation()
    const result = await rewriteGraph(await graphOf(fixture), {
      rules: parseAnnotations('k=v'),
      ociMediaTypes: false,
      imagePlatform: noPlatform
    })
    expectConsistent(result.graph)
    const descriptors = json(result.graph.root.bytes).manifests as Array<{ digest: string; annotations?: Record<string, string> }>
    const newAmd = descriptors[0].digest
    expect(newAmd).not.toBe(amd64.root.digest)
    expect(descriptors[2].digest).toBe(attestation.root.digest)
    expect(descriptors[2].annotations?.['vnd.docker.reference.digest']).toBe(newAmd)
  })

  test('a single image: an index: rule alone changes nothing at all, and a notice says it was ignored', async () => {
    const graph = await graphOf(amd64)
    const result = await rewriteGraph(graph, { rules: parseAnnotations('index:i=1'), ociMediaTypes: false, imagePlatform: noPlatform })
    expect(result.notices).toEqual(['annotation index:i ignored: the source is a single manifest, not an index'])
    expect(result.rewritten).toEqual([])
    expect(result.graph.root.bytes.equals(amd64.root.bytes)).toBe(true)
  })

  test('Docker manifests are annotated in place by default, converted to OCI with ociMediaTypes', async () => {
    const list = index(
      [image({ seed: 'rw-d1', docker: true, format }), image({ seed: 'rw-d2', docker: true, architecture: 'arm64', format })],
      { docker: true, format }
    )
    const inPlace = await rewriteGraph(await graphOf(list), {
      rules: parseAnnotations('k=v'),
      ociMediaTypes: false,
      imagePlatform: noPlatform
    })
    expect(inPlace.graph.root.descriptor.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json')
    const oci = await rewriteGraph(await graphOf(list), { rules: [], ociMediaTypes: true, imagePlatform: noPlatform })
    expectConsistent(oci.graph)
    expect(oci.graph.root.descriptor.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    const root = json(oci.graph.root.bytes)
    for (const d of root.manifests as Array<{ digest: string; mediaType: string }>) {
      expect(d.mediaType).toBe('application/vnd.oci.image.manifest.v1+json')
      const child = json(oci.graph.nodes.get(d.digest)!.bytes)
      expect(child.config?.mediaType).toBe('application/vnd.oci.image.config.v1+json')
      expect(child.layers?.map((l) => l.mediaType)).toEqual([
        'application/vnd.oci.image.layer.v1.tar+gzip',
        'application/vnd.oci.image.layer.v1.tar+gzip'
      ])
    }
  })

  test('nothing to apply: the same graph, the same bytes', async () => {
    const graph = await graphOf(multi)
    const result = await rewriteGraph(graph, {
      rules: parseAnnotations('index:existing=kept'),
      ociMediaTypes: false,
      imagePlatform: noPlatform
    })
    expect(result.rewritten).toEqual([])
    expect(result.graph.root.bytes).toBe(graph.root.bytes)
    expect(result.graph.root.bytes.equals(multi.root.bytes)).toBe(true)
  })
})

describe('rewriteGraph on a Helm chart', () => {
  test('index scopes are ignored with a notice; the chart keeps its config and layer', async () => {
    const chart = helmChart('redis', '19.0.0')
    const result = await rewriteGraph(await graphOf(chart), {
      rules: parseAnnotations('index:i=1\nk=v'),
      ociMediaTypes: false,
      imagePlatform: noPlatform
    })
    expect(result.notices).toEqual([expect.stringMatching(/index:i ignored: the source is a single manifest/)])
    const manifest = json(result.graph.root.bytes)
    expect(manifest.annotations).toEqual({ 'org.opencontainers.image.version': '19.0.0', k: 'v' })
    expect(manifest.config).toEqual(json(chart.root.bytes).config)
    expect(manifest.layers).toEqual(json(chart.root.bytes).layers)
  })
})

describe('convertManifestToOci', () => {
  test.each([
    ['application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.oci.image.manifest.v1+json'],
    ['application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.oci.image.index.v1+json']
  ])('%s', (from, to) => {
    const manifest: Record<string, unknown> = {
      mediaType: from,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json' },
      layers: [
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' },
        { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' },
        { mediaType: 'application/x-custom' }
      ]
    }
    convertManifestToOci(manifest)
    expect(manifest).toEqual({
      mediaType: to,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json' },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
        { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' },
        { mediaType: 'application/x-custom' }
      ]
    })
  })
})

describe.each(JSON_FORMATS)('selectPlatforms (%s JSON)', (format) => {
  const { amd64, arm64, multi, withAttestation } = fixtures(format)
  const spec = (text: string) => parsePlatform(text)!
  test('one platform: that image manifest itself, original bytes', async () => {
    const selected = await selectPlatforms(await graphOf(multi), [spec('linux/arm64')], noPlatform)
    expect(selected.root.descriptor.digest).toBe(arm64.root.digest)
    expect(selected.root.bytes.equals(arm64.root.bytes)).toBe(true)
    expect(selected.nodes.size).toBe(1)
  })

  test('one platform, then the rewrite pass with nothing to apply: still that image manifest byte for byte', async () => {
    const selected = await selectPlatforms(await graphOf(multi), [spec('linux/arm64')], noPlatform)
    const result = await rewriteGraph(selected, { rules: [], ociMediaTypes: false, imagePlatform: noPlatform })
    expect(result.rewritten).toEqual([])
    expect(result.graph.root.descriptor.digest).toBe(arm64.root.digest)
    expect(result.graph.root.bytes.equals(arm64.root.bytes)).toBe(true)
  })

  test('several platforms: the order of the source, whatever the order asked', async () => {
    const asked = await selectPlatforms(await graphOf(multi), [spec('linux/arm64'), spec('linux/amd64')], noPlatform)
    const reversed = await selectPlatforms(await graphOf(multi), [spec('linux/amd64'), spec('linux/arm64')], noPlatform)
    expect(asked.root.descriptor.digest).toBe(reversed.root.descriptor.digest)
    expect((json(asked.root.bytes).manifests as Array<{ digest: string }>).map((d) => d.digest)).toEqual([
      amd64.root.digest,
      arm64.root.digest
    ])
  })

  test('several: a new OCI index of just those, annotations kept, attestations of kept images along', async () => {
    const { fixture, attestation } = withAttestation()
    const selected = await selectPlatforms(await graphOf(fixture), [spec('linux/amd64'), spec('linux/arm64/v8')], noPlatform)
    expectConsistent(selected)
    const root = json(selected.root.bytes)
    expect(root.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    expect((root.manifests as Array<{ digest: string }>).map((d) => d.digest)).toEqual([
      amd64.root.digest,
      arm64.root.digest,
      attestation.root.digest
    ])
    const kept = await selectPlatforms(await graphOf(multi), [spec('linux/amd64'), spec('linux/arm64')], noPlatform)
    expect(json(kept.root.bytes).annotations).toEqual({ existing: 'kept' })
  })

  test('a platform not in the source is an error listing what it has', async () => {
    const error = await selectPlatforms(await graphOf(multi), [spec('linux/s390x')], noPlatform).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toBe('platforms: linux/s390x is not in the source; it has linux/amd64, linux/arm64/v8')
  })

  test("a single image: its config's platform must match", async () => {
    const graph = await graphOf(amd64)
    const amd = () => Promise.resolve({ os: 'linux', architecture: 'amd64' })
    expect((await selectPlatforms(graph, [spec('linux/amd64')], amd)).root).toBe(graph.root)
    await expect(selectPlatforms(graph, [spec('linux/arm64')], amd)).rejects.toThrow(
      'platforms: the source is a single image for linux/amd64, not linux/arm64'
    )
  })
})
