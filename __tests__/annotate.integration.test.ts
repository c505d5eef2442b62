/**
 * Annotations, platforms and OCI media types against a real registry, with indexes made by
 * buildah (OCI index and Docker manifest list), a Helm chart, and our own images and indexes
 * written as the tools write JSON (JSON_FORMATS: compact, indented as BuildKit does, with Go's
 * trailing newline); what the registry stores is read back with skopeo.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { parseAnnotations } from '../src/annotations.js'
import { sha256 } from '../src/digest.js'
import { RegistryError } from '../src/errors.js'
import { parsePlatform } from '../src/platform.js'
import { runAction } from '../testbed/action.js'
import { pushBuildahList } from '../testbed/buildah.js'
import { helmChart, image, index, JSON_FORMATS, listTags, pushFixture, type JsonFormat } from '../testbed/fixtures.js'
import { registryError, startProxy, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, run, skopeoPullAll, skopeoRaw, type RawManifest } from '../testbed/tools.js'
import { pushUmociImage } from '../testbed/umoci.js'
import { copy } from './helpers/copy.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

let a: TestRegistry
let b: TestRegistry
let proxy: RecordingProxy
let destProxy: RecordingProxy
const arm = image({ seed: 'ann-arm64', docker: true, architecture: 'arm64' })
const chart = helmChart('nginx', '1.2.3')

/** Our own single image and index, written in `format`; pushed to `<format>/single/app:v1` and `<format>/multi/app:v1`. */
function ours(format: JsonFormat) {
  const amd64 = image({ seed: 'ann-amd64', layers: 2, format })
  const arm64 = image({ seed: 'ann-arm64-oci', architecture: 'arm64', variant: 'v8', format })
  return { amd64, arm64, multi: index([amd64, arm64], { format }) }
}
/** What the action tests copy: `compact/multi/app:v1`. */
const multi = ours('compact').multi

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo', 'umoci', 'buildah'])
  ;[a, b] = await Promise.all([startRegistry(), startRegistry()])
  ;[proxy, destProxy] = await Promise.all([startProxy(a.port), startProxy(b.port)])
  await pushUmociImage(a.host, 'parts/amd64', 'v1', 2)
  await pushFixture(a.host, 'parts/arm64', arm, 'v1')
  const parts = [`${a.host}/parts/amd64:v1`, `${a.host}/parts/arm64:v1`]
  await Promise.all([
    pushBuildahList(parts, `${a.host}/buildah/index:v1`, 'oci'),
    pushBuildahList(parts, `${a.host}/buildah/list:v1`, 'v2s2')
  ])
  await pushFixture(a.host, 'charts/nginx', chart, '1.2.3')
  for (const format of JSON_FORMATS) {
    const { amd64, multi: index } = ours(format)
    await pushFixture(a.host, `${format}/multi/app`, index, 'v1')
    await pushFixture(a.host, `${format}/single/app`, amd64, 'v1')
  }
}, 180_000)

afterAll(async () => {
  await Promise.all([proxy?.stop(), destProxy?.stop()])
  await Promise.all([a, b].map((r) => r?.stop()))
})

const raw = async (ref: string) => {
  const text = await skopeoRaw(ref)
  return { text, json: JSON.parse(text) as RawManifest }
}

/** Reads every child of an index back, checking its descriptor's digest and size against the bytes served. */
async function children(
  host: string,
  repo: string,
  root: RawManifest
): Promise<
  Array<{ descriptor: NonNullable<RawManifest['manifests']>[number] & { platform?: { architecture: string } }; manifest: RawManifest }>
> {
  const out = []
  for (const descriptor of root.manifests ?? []) {
    const { text, json } = await raw(`${host}/${repo}@${descriptor.digest}`)
    expect(sha256(Buffer.from(text))).toBe(descriptor.digest)
    expect(Buffer.byteLength(text)).toBe(descriptor.size)
    out.push({ descriptor, manifest: json })
  }
  return out
}

const rules = parseAnnotations(
  [
    'index:org.opencontainers.image.version=1.2.3',
    'manifest:org.opencontainers.image.title=app',
    'manifest[linux/arm64]:com.example.arch=arm',
    'manifest-descriptor:com.example.desc=yes'
  ].join('\n')
)

describe('annotations on indexes made by buildah', () => {
  test.each([
    ['an OCI index', 'buildah/index', 'application/vnd.oci.image.index.v1+json'],
    [
      'a Docker manifest list (annotated in place, media type kept)',
      'buildah/list',
      'application/vnd.docker.distribution.manifest.list.v2+json'
    ]
  ])('%s: each manifest carries exactly what its scope says', async (_name, repo, mediaType) => {
    const source = (await raw(`${a.host}/${repo}:v1`)).json
    const result = await copy(`${a.host}/${repo}:v1`, `${b.host}/annotated/${repo}:v1`, { transform: { annotations: rules } })
    const { text, json: root } = await raw(`${b.host}/annotated/${repo}:v1`)
    expect(sha256(Buffer.from(text))).toBe(result.digest)
    expect(result.digest).not.toBe(sha256(Buffer.from(await skopeoRaw(`${a.host}/${repo}:v1`))))
    expect(root.mediaType).toBe(mediaType)
    expect(root.annotations).toEqual({ ...source.annotations, 'org.opencontainers.image.version': '1.2.3' })
    const kids = await children(b.host, `annotated/${repo}`, root)
    expect(kids).toHaveLength(2)
    for (const { descriptor, manifest } of kids) {
      expect(descriptor.annotations).toEqual({ 'com.example.desc': 'yes' })
      const arm64 = descriptor.platform?.architecture === 'arm64'
      expect(manifest.annotations).toEqual({ 'org.opencontainers.image.title': 'app', ...(arm64 ? { 'com.example.arch': 'arm' } : {}) })
    }
    // The blobs are the source's: config and layers untouched.
    const sourceKids = await children(a.host, repo, source)
    expect(kids.map((k) => k.manifest.layers)).toEqual(sourceKids.map((k) => k.manifest.layers))
    expect(result.rewritten.map((r) => r.from)).toEqual([
      ...sourceKids.map((k) => k.descriptor.digest),
      sha256(Buffer.from(await skopeoRaw(`${a.host}/${repo}:v1`)))
    ])
    await skopeoPullAll(`${b.host}/annotated/${repo}:v1`)
  })

  test('a Helm chart: annotations on its manifest, and the chart still pulls', async () => {
    const result = await copy(`oci://${a.host}/charts/nginx:1.2.3`, `oci://${b.host}/charts/nginx`, {
      transform: { annotations: parseAnnotations('org.opencontainers.image.source=https://example.com/charts') }
    })
    const { json } = await raw(`${b.host}/charts/nginx:1.2.3`)
    expect(json.annotations).toEqual({
      'org.opencontainers.image.version': '1.2.3',
      'org.opencontainers.image.source': 'https://example.com/charts'
    })
    expect(json.config?.mediaType).toBe('application/vnd.cncf.helm.config.v1+json')
    expect(result.digest).not.toBe(chart.root.digest)
    const dir = await mkdtemp(join(tmpdir(), 'oci-push-chart-'))
    try {
      await run('skopeo', [
        'copy',
        '--quiet',
        '--src-tls-verify=false',
        `docker://${b.host}/charts/nginx:1.2.3`,
        `oci:${join(dir, 'layout')}:1.2.3`
      ])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe.each(JSON_FORMATS)('annotations on our own images and indexes (%s JSON)', (format) => {
  const { amd64, multi: source } = ours(format)
  const single = `${format}/single/app`
  const repo = `${format}/multi/app`

  test('a single image: index: is ignored with a notice, manifest: applies', async () => {
    const log: string[] = []
    await copy(`${a.host}/${single}:v1`, `${b.host}/${single}:annotated`, {
      log,
      transform: { annotations: parseAnnotations('index:x=1\nmanifest:y=2') }
    })
    expect((await raw(`${b.host}/${single}:annotated`)).json.annotations).toEqual({ y: '2' })
    expect(log).toContain('annotation index:x ignored: the source is a single manifest, not an index')
  })

  test('a single image and an index: rule alone: nothing rewritten, the same bytes and digest', async () => {
    const result = await copy(`${a.host}/${single}:v1`, `${b.host}/${single}:index-only`, {
      transform: { annotations: parseAnnotations('index:x=1') }
    })
    expect(result.rewritten).toEqual([])
    expect(result.digest).toBe(amd64.root.digest)
    expect(await skopeoRaw(`${b.host}/${single}:index-only`)).toBe(amd64.root.bytes.toString())
  })

  test('an index: rule rewrites the index alone: every image keeps its bytes and digest', async () => {
    const result = await copy(`${a.host}/${repo}:v1`, `${b.host}/${repo}:index-only`, {
      transform: { annotations: parseAnnotations('index:org.opencontainers.image.version=1.2.3') }
    })
    expect(result.rewritten.map((r) => r.from)).toEqual([source.root.digest])
    const { json: root } = await raw(`${b.host}/${repo}:index-only`)
    expect(root.annotations).toEqual({ 'org.opencontainers.image.version': '1.2.3' })
    const kids = await children(b.host, repo, root)
    expect(kids.map((k) => k.descriptor.digest)).toEqual(source.children.map((c) => c.digest))
  })
})

describe.each(JSON_FORMATS)('same-repository retag with annotations (%s JSON)', (format) => {
  const { multi: source } = ours(format)
  const repo = `${format}/multi/app`

  test('manifests only, no blob request, the same digest on a second run, the source tag untouched', async () => {
    const annotations = parseAnnotations('org.opencontainers.image.revision=abc123\nindex:org.opencontainers.image.version=2.0.0')
    proxy.reset()
    const first = await copy(`${proxy.host}/${repo}:v1`, `${proxy.host}/${repo}:v2`, { transform: { annotations } })
    expect(proxy.requests.filter((r) => r.path.includes('/blobs/'))).toEqual([])
    expect(proxy.requests.filter((r) => r.method === 'PUT').length).toBe(source.children.length + 2)
    proxy.reset()
    const second = await copy(`${proxy.host}/${repo}:v1`, `${proxy.host}/${repo}:v2-again`, { transform: { annotations } })
    expect(second.digest).toBe(first.digest)
    expect(proxy.requests.filter((r) => r.path.includes('/blobs/'))).toEqual([])
    expect(first.stats).toMatchObject({ blobsUploaded: 0, blobsMounted: 0 })
    expect(sha256(Buffer.from(await skopeoRaw(`${a.host}/${repo}:v1`)))).toBe(source.root.digest)
    expect(sha256(Buffer.from(await skopeoRaw(`${a.host}/${repo}:v2`)))).toBe(first.digest)
    await skopeoPullAll(`${a.host}/${repo}:v2`)
  })
})

describe('platforms of an index buildah made', () => {
  test("one platform copies that image's manifest as it is: the arm64 image's own digest", async () => {
    const source = (await raw(`${a.host}/buildah/index:v1`)).json
    const armDigest = source.manifests?.find(
      (d) => (d as { platform?: { architecture: string } }).platform?.architecture === 'arm64'
    )?.digest
    const result = await copy(`${a.host}/buildah/index:v1`, `${b.host}/arm-only/app:v1`, {
      transform: { platforms: [parsePlatform('linux/arm64')!] }
    })
    expect(result.digest).toBe(armDigest)
    expect(sha256(Buffer.from(await skopeoRaw(`${b.host}/arm-only/app:v1`)))).toBe(armDigest)
    await skopeoPullAll(`${b.host}/arm-only/app:v1`)
  })
})

describe.each(JSON_FORMATS)('platforms of our own index (%s JSON)', (format) => {
  const { amd64, arm64, multi: source } = ours(format)
  const repo = `${format}/multi/app`

  test("one platform copies that image's manifest as it is: its own bytes and digest", async () => {
    const result = await copy(`${a.host}/${repo}:v1`, `${b.host}/${format}/arm-only/app:v1`, {
      transform: { platforms: [parsePlatform('linux/arm64')!] }
    })
    expect(result.digest).toBe(arm64.root.digest)
    expect(result.rewritten).toEqual([])
    expect(await skopeoRaw(`${b.host}/${format}/arm-only/app:v1`)).toBe(arm64.root.bytes.toString())
  })

  test("two platforms in either order: the same new index, in the source's order, each image its own bytes", async () => {
    const results = []
    for (const [i, list] of ['linux/arm64,linux/amd64', 'linux/amd64,linux/arm64'].entries()) {
      results.push(
        await copy(`${a.host}/${repo}:v1`, `${b.host}/${format}/both/app:v${i}`, {
          transform: { platforms: list.split(',').map((p) => parsePlatform(p)!) }
        })
      )
    }
    expect(results[1].digest).toBe(results[0].digest)
    const { json: root } = await raw(`${b.host}/${format}/both/app:v0`)
    const kids = await children(b.host, `${format}/both/app`, root)
    expect(kids.map((k) => k.descriptor.digest)).toEqual([amd64.root.digest, arm64.root.digest])
    expect(source.children.map((c) => c.digest)).toEqual([amd64.root.digest, arm64.root.digest])
  })

  test('a platform the source lacks: an error listing what it has, nothing written', async () => {
    const error = await copy(`${a.host}/${repo}:v1`, `${b.host}/${format}/none/app:v1`, {
      transform: { platforms: [parsePlatform('linux/ppc64le')!] }
    }).catch((e: unknown) => e)
    expect((error as Error).message).toBe('platforms: linux/ppc64le is not in the source; it has linux/amd64, linux/arm64/v8')
    expect(await listTags(b.host, `${format}/none/app`)).toEqual([])
  })
})

describe('registries that refuse annotated Docker manifests', () => {
  const refuseDocker = (r: { method: string; path: string; headers: Record<string, unknown> }) =>
    r.method === 'PUT' &&
    r.path.includes('/manifests/') &&
    String(r.headers['content-type']).includes('docker') &&
    r.path.includes('sha256:')
      ? registryError(400, 'MANIFEST_INVALID', 'Failed to deserialize')
      : undefined

  test('a refusal says to set ociMediaTypes; with it, the converted list is accepted', async () => {
    destProxy.reset()
    destProxy.faults.answer = (r) =>
      r.headers['content-type'] === 'application/vnd.docker.distribution.manifest.list.v2+json' ? refuseDocker(r) : undefined
    const error = await copy(`${a.host}/buildah/list:v1`, `${destProxy.host}/gar/app:v1`, { transform: { annotations: rules } }).catch(
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as Error).message).toMatch(/400 MANIFEST_INVALID: Failed to deserialize \(.*set ociMediaTypes: true\)$/)
    expect(await listTags(b.host, 'gar/app')).toEqual([])

    const result = await copy(`${a.host}/buildah/list:v1`, `${destProxy.host}/gar/app:v1`, {
      transform: { annotations: rules, ociMediaTypes: true }
    })
    expect(result.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    const { json: root } = await raw(`${b.host}/gar/app:v1`)
    for (const { manifest } of await children(b.host, 'gar/app', root)) {
      expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json')
      expect(manifest.config?.mediaType).toBe('application/vnd.oci.image.config.v1+json')
    }
    await skopeoPullAll(`${b.host}/gar/app:v1`)
  })
})

describe('the action', () => {
  test("docker/metadata-action's annotations output, pasted in: outputs and summary name the new digest", async () => {
    const annotations =
      'manifest:org.opencontainers.image.title=app\nindex:org.opencontainers.image.title=app\nmanifest-descriptor:org.opencontainers.image.title=app'
    const result = await runAction({ srcRef: `${a.host}/compact/multi/app:v1`, destRef: `${b.host}/action/app:v1`, annotations })
    expect(result.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([])
    const stored = sha256(Buffer.from(await skopeoRaw(`${b.host}/action/app:v1`)))
    expect(result.outputs.digest).toBe(stored)
    expect(JSON.parse(result.outputs.pushed)).toEqual([
      { ref: `${b.host}/action/app:v1`, digest: stored, mediaType: multi.root.mediaType, size: expect.any(Number) }
    ])
    expect(result.summary).toContain('Rewritten manifest')
    expect(result.summary).toContain(`| ${multi.root.digest} | ${stored} |`)
  })

  test.each([
    [
      'a line without =',
      { annotations: 'org.opencontainers.image.title' },
      /^::error::annotations line 1: "org.opencontainers.image.title": expected key=value, e\.g\. org\.opencontainers\.image\.title=app/
    ],
    ['an unknown scope', { annotations: 'k=v\nlayers:k=v' }, /^::error::annotations line 2: "layers:k=v": unknown scope "layers"/],
    ['a bad platform', { platforms: 'linux/amd64, arm64' }, /^::error::platforms: "arm64" is not a platform/],
    ['a bad ociMediaTypes', { ociMediaTypes: 'yes' }, /^::error::ociMediaTypes: "yes" is not a boolean/]
  ])('%s: one error line naming the input', async (_name, inputs, line) => {
    const result = await runAction({ srcRef: `${a.host}/compact/multi/app:v1`, destRef: `${b.host}/bad/app:v1`, ...inputs })
    expect(result.exitCode).toBe(1)
    const errors = result.stdout.split('\n').filter((l) => l.startsWith('::error'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(line)
  })
})
