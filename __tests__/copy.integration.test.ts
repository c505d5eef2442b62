/**
 * The copy engine against real CNCF distribution registries on loopback, checked with skopeo and
 * with plain HTTP reads that do not go through our code.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { ContentError, RegistryError, SizeLimitError } from '../src/errors.js'
import {
  blobDigest,
  helmChart,
  image,
  imageWithForeignLayer,
  index,
  listTags,
  pushFixture,
  rawManifest,
  referrer,
  type Fixture
} from '../testbed/fixtures.js'
import { registryError, startProxy, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, skopeoInspect, skopeoPullAll, skopeoRaw, type RawManifest } from '../testbed/tools.js'
import { pushUmociImage } from '../testbed/umoci.js'
import { pushBuildahList } from '../testbed/buildah.js'
import { copy } from './helpers/copy.js'

let a: TestRegistry
let b: TestRegistry
let secured: TestRegistry
let proxy: RecordingProxy
/** In front of registry b: what a copy asked of the destination. */
let destProxy: RecordingProxy
let v6: TestRegistry
const login = { username: 'ci-user', password: 'ci-secret-password' }

const amd64 = image({ seed: 'it-amd64', layers: 3 })
const arm64 = image({ seed: 'it-arm64', layers: 3, architecture: 'arm64', variant: 'v8' })
const ociIndex = index([amd64, arm64])
const dockerAmd64 = image({ seed: 'it-d-amd64', docker: true })
const dockerArm64 = image({ seed: 'it-d-arm64', docker: true, architecture: 'arm64' })
const dockerList = index([dockerAmd64, dockerArm64], { docker: true })
const chart = helmChart('redis', '19.0.0')
const sbom = referrer(amd64.root)
const foreign = imageWithForeignLayer('it-foreign')
const big = image({ seed: 'it-big', layers: 2, layerSize: 1024 * 1024 })
const nestedLeaf = image({ seed: 'it-nested', architecture: 's390x' })
const nested = index([index([nestedLeaf]), amd64])

beforeAll(async () => {
  await requireTools()
  ;[a, b, secured, v6] = await Promise.all([
    startRegistry(),
    startRegistry(),
    startRegistry({ htpasswd: login }),
    startRegistry({ ipv6: true })
  ])
  proxy = await startProxy(a.port)
  destProxy = await startProxy(b.port)
  await pushUmociImage(a.host, 'umoci/app', 'v1', 3)
  await pushFixture(a.host, 'parts/app', dockerArm64, 'arm64')
  await pushBuildahList([`${a.host}/umoci/app:v1`, `${a.host}/parts/app:arm64`], `${a.host}/buildah/list:v1`, 'v2s2')
  await pushBuildahList([`${a.host}/umoci/app:v1`, `${a.host}/parts/app:arm64`], `${a.host}/buildah/index:v1`, 'oci')
  await pushFixture(a.host, 'multi/app', ociIndex, 'v1')
  await pushFixture(a.host, 'docker/app', dockerList, 'v1')
  await pushFixture(a.host, 'charts/redis', chart, '19.0.0')
  await pushFixture(a.host, 'multi/app', sbom, 'sbom')
  await pushFixture(a.host, 'foreign/app', foreign, 'v1')
  await pushFixture(a.host, 'big/app', big, 'v1')
  await pushFixture(a.host, 'nested/app', nested, 'v1')
  await pushFixture(secured.host, 'private/app', amd64, 'v1', { credentials: login })
}, 120_000)

afterAll(async () => {
  await Promise.all([proxy?.stop(), destProxy?.stop()])
  await Promise.all([a, b, secured, v6].map((r) => r?.stop()))
})

/** Every blob of a fixture is in the repository with the right bytes. */
async function expectBlobs(host: string, repository: string, fixture: Fixture, credentials?: typeof login): Promise<void> {
  for (const blob of fixture.blobs) {
    expect(await blobDigest(host, repository, blob.digest, { credentials })).toBe(blob.digest)
  }
}

describe('copy across registries, byte for byte', () => {
  test('a 3-layer image built by umoci (manifest without mediaType)', async () => {
    const source = await skopeoRaw(`${a.host}/umoci/app:v1`)
    expect((JSON.parse(source) as RawManifest).mediaType).toBeUndefined()
    const result = await copy(`${a.host}/umoci/app:v1`, `${b.host}/mirror/umoci:v1`)
    expect(await skopeoRaw(`${b.host}/mirror/umoci:v1`)).toBe(source)
    expect(result.mediaType).toBe('application/vnd.oci.image.manifest.v1+json')
    expect(result.stats.blobsUploaded).toBe(4)
    await skopeoPullAll(`${b.host}/mirror/umoci:v1`)
  })

  test.each([
    ['an OCI index', 'multi/app', ociIndex, [amd64, arm64]],
    ['a Docker manifest list', 'docker/app', dockerList, [dockerAmd64, dockerArm64]]
  ])('%s: digests kept, every child and blob present, platforms resolvable', async (_name, repo, fixture, children) => {
    const result = await copy(`${a.host}/${repo}:v1`, `${b.host}/${repo}:copied`)
    expect(result.digest).toBe(fixture.root.digest)
    expect(result.mediaType).toBe(fixture.root.mediaType)
    expect(await skopeoRaw(`${b.host}/${repo}:copied`)).toBe(fixture.root.bytes.toString())
    for (const child of children) {
      expect(await skopeoRaw(`${b.host}/${repo}@${child.root.digest}`)).toBe(child.root.bytes.toString())
      await expectBlobs(b.host, repo, child)
    }
    const arm = await skopeoInspect(`${b.host}/${repo}:copied`, { arch: 'arm64' })
    expect(arm.Architecture).toBe('arm64')
    // The arm64 child's own config answered: its label names the seed it was built from.
    const armConfig = JSON.parse(children[1].blobs[0].bytes.toString()) as { config: { Labels: Record<string, string> } }
    expect(arm.Labels).toEqual(armConfig.config.Labels)
    expect(arm.Labels).not.toEqual((JSON.parse(children[0].blobs[0].bytes.toString()) as typeof armConfig).config.Labels)
  })

  test.each([
    ['a Docker manifest list', 'buildah/list', 'application/vnd.docker.distribution.manifest.list.v2+json'],
    ['an OCI index', 'buildah/index', 'application/vnd.oci.image.index.v1+json']
  ])('%s made by buildah: copied whole, skopeo pulls every platform from the copy', async (_name, repo, mediaType) => {
    const source = await skopeoRaw(`${a.host}/${repo}:v1`)
    const result = await copy(`${a.host}/${repo}:v1`, `${b.host}/${repo}:v1`)
    expect(result.mediaType).toBe(mediaType)
    expect(await skopeoRaw(`${b.host}/${repo}:v1`)).toBe(source)
    await skopeoPullAll(`${b.host}/${repo}:v1`)
    expect((await skopeoInspect(`${b.host}/${repo}:v1`, { arch: 'arm64' })).Architecture).toBe('arm64')
  })

  test('nested indexes: every level copied, children before parents', async () => {
    const result = await copy(`${a.host}/nested/app:v1`, `${b.host}/nested/app:v1`)
    expect(await skopeoRaw(`${b.host}/nested/app:v1`)).toBe(nested.root.bytes.toString())
    for (const child of nested.children) expect(await skopeoRaw(`${b.host}/nested/app@${child.digest}`)).toBe(child.bytes.toString())
    await expectBlobs(b.host, 'nested/app', nestedLeaf)
    expect(result.stats.manifestsPushed).toBe(nested.children.length + 1)
  })

  test('an IPv6 loopback registry ([::1]:port)', async () => {
    const result = await copy(`${a.host}/multi/app:v1`, `${v6.host}/v6/app:v1`)
    expect(result.pushed[0].ref).toBe(`${v6.host}/v6/app:v1`)
    // skopeo 1.9 cannot parse IPv6 hosts: read the copy with plain HTTP, then copy it back and use skopeo.
    expect(await rawManifest(v6.host, 'v6/app', 'v1')).toBe(ociIndex.root.bytes.toString())
    await copy(`${v6.host}/v6/app:v1`, `${b.host}/from-v6/app:v1`)
    expect(await skopeoRaw(`${b.host}/from-v6/app:v1`)).toBe(ociIndex.root.bytes.toString())
    await expectBlobs(b.host, 'from-v6/app', arm64)
  })

  test('a Helm chart: Helm config and chart layer copied', async () => {
    const result = await copy(`oci://${a.host}/charts/redis:19.0.0`, `oci://${b.host}/mirror/charts/redis`)
    expect(result.pushed.map((p) => p.ref)).toEqual([`${b.host}/mirror/charts/redis:19.0.0`])
    const raw = JSON.parse(await skopeoRaw(`${b.host}/mirror/charts/redis:19.0.0`)) as RawManifest
    expect(raw.config?.mediaType).toBe('application/vnd.cncf.helm.config.v1+json')
    expect(raw.layers?.[0].mediaType).toBe('application/vnd.cncf.helm.chart.content.v1.tar+gzip')
    expect(result.digest).toBe(chart.root.digest)
    await expectBlobs(b.host, 'mirror/charts/redis', chart)
  })

  test('an OCI 1.1 artifact with artifactType and subject', async () => {
    await copy(`${a.host}/multi/app@${sbom.root.digest}`, `${b.host}/multi/app:sbom`)
    const raw = await skopeoRaw(`${b.host}/multi/app:sbom`)
    expect(raw).toBe(sbom.root.bytes.toString())
    expect((JSON.parse(raw) as RawManifest).subject?.digest).toBe(amd64.root.digest)
    await expectBlobs(b.host, 'multi/app', sbom)
  })

  test('a foreign layer is referenced, not copied', async () => {
    const result = await copy(`${a.host}/foreign/app:v1`, `${b.host}/foreign/app:v1`)
    expect(await skopeoRaw(`${b.host}/foreign/app:v1`)).toBe(foreign.root.bytes.toString())
    expect(result.stats.blobsUploaded).toBe(foreign.blobs.length)
    expect(await blobDigest(b.host, 'foreign/app', foreign.foreign.digest as string)).toBeUndefined()
  })

  test('a digest-only source to a destination without a tag is pushed by digest alone', async () => {
    const result = await copy(`${a.host}/multi/app@${amd64.root.digest}`, `${b.host}/bydigest/app`)
    expect(result.pushed).toEqual([
      {
        ref: `${b.host}/bydigest/app@${amd64.root.digest}`,
        digest: amd64.root.digest,
        mediaType: amd64.root.mediaType,
        size: amd64.root.size
      }
    ])
    expect(await listTags(b.host, 'bydigest/app')).toEqual([])
    expect(await skopeoRaw(`${b.host}/bydigest/app@${amd64.root.digest}`)).toBe(amd64.root.bytes.toString())
  })

  test('two destinations: blobs move once, both tags written', async () => {
    const result = await copy(`${a.host}/multi/app:v1`, [`${b.host}/twice/app:one`, `${b.host}/twice/app:two`])
    expect(result.stats.blobsUploaded).toBe(amd64.blobs.length + arm64.blobs.length)
    expect(await listTags(b.host, 'twice/app')).toEqual(['one', 'two'])
    expect(await skopeoRaw(`${b.host}/twice/app:two`)).toBe(ociIndex.root.bytes.toString())
  })

  test('a second run finds everything in place and uploads nothing', async () => {
    await copy(`${a.host}/multi/app:v1`, `${b.host}/rerun/app:one`)
    const result = await copy(`${a.host}/multi/app:v1`, `${b.host}/rerun/app:two`)
    expect(result.stats.blobsUploaded).toBe(0)
    expect(result.stats.bytesUploaded).toBe(0)
    expect(result.stats.manifestsPushed).toBe(0)
    expect(await listTags(b.host, 'rerun/app')).toEqual(['one', 'two'])
  })

  test('three repositories on one registry: blobs uploaded once, mounted into the others', async () => {
    destProxy.reset()
    const unique = new Set([...amd64.blobs, ...arm64.blobs].map((blob) => blob.digest)).size
    const dests = ['fan-1', 'fan-2', 'fan-3'].map((repo) => `${destProxy.host}/${repo}/app:v1`)
    const result = await copy(`${a.host}/multi/app:v1`, dests)
    expect(destProxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'))).toHaveLength(unique)
    expect(result.stats).toMatchObject({ blobsUploaded: unique, blobsMounted: 2 * unique })
    for (const repo of ['fan-2', 'fan-3']) await expectBlobs(b.host, `${repo}/app`, arm64)
  })

  test('two destinations in different repositories: each one complete', async () => {
    const result = await copy(`${a.host}/multi/app:v1`, [`${b.host}/first-repo/app:v1`, `${b.host}/second-repo/app:v2`])
    expect(result.pushed.map((p) => p.ref)).toEqual([`${b.host}/first-repo/app:v1`, `${b.host}/second-repo/app:v2`])
    for (const [repo, tag] of [
      ['first-repo/app', 'v1'],
      ['second-repo/app', 'v2']
    ]) {
      expect(await skopeoRaw(`${b.host}/${repo}:${tag}`)).toBe(ociIndex.root.bytes.toString())
      await expectBlobs(b.host, repo, amd64)
      await expectBlobs(b.host, repo, arm64)
      await skopeoPullAll(`${b.host}/${repo}:${tag}`)
    }
  })

  test('manifest requests ask for every manifest type we copy, on the wire', async () => {
    proxy.reset()
    await copy(`${proxy.host}/docker/app:v1`, `${b.host}/accept/app:v1`)
    const manifestGets = proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/manifests/'))
    expect(manifestGets.length).toBe(1 + dockerList.children.length)
    for (const request of manifestGets) {
      const accept = String(request.headers.accept)
        .split(',')
        .map((t) => t.trim().split(';')[0])
      expect(accept).toEqual(
        expect.arrayContaining([
          'application/vnd.oci.image.index.v1+json',
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.docker.distribution.manifest.list.v2+json',
          'application/vnd.docker.distribution.manifest.v2+json'
        ])
      )
    }
  })
})

describe('cheapest path', () => {
  test('same repository: a retag sends no blob request at all', async () => {
    proxy.reset()
    const result = await copy(`${proxy.host}/multi/app:v1`, [`${proxy.host}/multi/app:v1.2.3`, `${proxy.host}/multi/app:latest`])
    expect(proxy.requests.filter((r) => r.path.includes('/blobs/'))).toEqual([])
    expect(proxy.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual([
      '/v2/multi/app/manifests/v1.2.3',
      '/v2/multi/app/manifests/latest'
    ])
    expect(result.stats).toMatchObject({ blobsMounted: 0, blobsUploaded: 0, bytesUploaded: 0 })
    expect(await skopeoRaw(`${a.host}/multi/app:v1.2.3`)).toBe(ociIndex.root.bytes.toString())
  })

  test('same repository and tag: a no-op that still reports the artifact', async () => {
    proxy.reset()
    const result = await copy(`${proxy.host}/multi/app:v1`, `${proxy.host}/multi/app:v1`)
    expect(proxy.requests.filter((r) => r.method !== 'GET')).toEqual([])
    expect(result.pushed).toEqual([
      {
        ref: `${proxy.host}/multi/app:v1`,
        tag: 'v1',
        digest: ociIndex.root.digest,
        mediaType: ociIndex.root.mediaType,
        size: ociIndex.root.size
      }
    ])
  })

  test('same registry, other repository: every blob is mounted, none downloaded', async () => {
    proxy.reset()
    const result = await copy(`${proxy.host}/multi/app:v1`, `${proxy.host}/promoted/app:v1`)
    const blobs = new Set([...amd64.blobs, ...arm64.blobs].map((blob) => blob.digest))
    const mounts = proxy.requests.filter((r) => r.method === 'POST' && r.path.includes('mount='))
    expect(mounts).toHaveLength(blobs.size)
    expect(proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'))).toEqual([])
    expect(proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/'))).toEqual([])
    expect(result.stats).toMatchObject({ blobsMounted: blobs.size, blobsUploaded: 0 })
    await expectBlobs(a.host, 'promoted/app', amd64)
    await expectBlobs(a.host, 'promoted/app', arm64)
  })
})

describe('nothing half-done', () => {
  test('a refused mount falls back to a streamed upload in the session the registry opened', async () => {
    proxy.reset()
    proxy.faults.refuseMounts = true
    const result = await copy(`${proxy.host}/multi/app:v1`, `${proxy.host}/refused/app:v1`)
    const blobs = new Set([...amd64.blobs, ...arm64.blobs].map((blob) => blob.digest))
    expect(result.stats).toMatchObject({ blobsMounted: 0, blobsUploaded: blobs.size })
    const posts = proxy.requests.filter((r) => r.method === 'POST')
    expect(posts.every((r) => r.path.includes('mount='))).toBe(true)
    expect(proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'))).toHaveLength(blobs.size)
    await expectBlobs(a.host, 'refused/app', amd64)
    await expectBlobs(a.host, 'refused/app', arm64)
  })

  test('one blob at a time through a refused mount (GET and PUT on one origin) does not deadlock', async () => {
    proxy.reset()
    proxy.faults.refuseMounts = true
    const result = await copy(`${proxy.host}/multi/app:v1`, `${proxy.host}/serial/app:v1`, { concurrency: 1 })
    expect(result.stats.blobsUploaded).toBe(new Set([...amd64.blobs, ...arm64.blobs].map((b) => b.digest)).size)
    await expectBlobs(a.host, 'serial/app', arm64)
  })

  test('a blob that does not match its digest fails the copy; no tag, no root manifest', async () => {
    proxy.reset()
    proxy.faults.corruptBlobs = true
    const error = await copy(`${proxy.host}/multi/app:v1`, `${b.host}/corrupt/app:v1`).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(
      /^127\.0\.0\.1:\d+\/multi\/app@sha256:[0-9a-f]{64}: blob content does not match its digest \(127\.0\.0\.1:\d+\/corrupt\/app refused it: DIGEST_INVALID\)$/
    )
    expect(await listTags(b.host, 'corrupt/app')).toEqual([])
    await expect(skopeoRaw(`${b.host}/corrupt/app@${ociIndex.root.digest}`)).rejects.toThrow()
    // Every download was corrupted: none of those bytes may be stored under the digest they lack.
    for (const blob of [...amd64.blobs, ...arm64.blobs]) expect(await blobDigest(b.host, 'corrupt/app', blob.digest)).toBeUndefined()
  })

  test('a failing destination moves no tag anywhere, not even on the destinations that worked', async () => {
    const error = await copy(`${a.host}/multi/app:v1`, [`${b.host}/first/app:v1`, `${secured.host}/second/app:v1`]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect(await listTags(b.host, 'first/app')).toEqual([])
  })
})

describe('size limit', () => {
  test('over the limit: refused before any transfer, nothing written', async () => {
    proxy.reset()
    destProxy.reset()
    const error = await copy(`${proxy.host}/big/app:v1`, `${destProxy.host}/too-big/app:v1`, { maxArtifactSize: 1024 * 1024 }).catch(
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(SizeLimitError)
    expect((error as Error).message).toMatch(/^2\.0 MiB exceeds the limit of 1\.0 MiB; raise maxArtifactSize$/)
    expect(proxy.requests.filter((r) => r.path.includes('/blobs/'))).toEqual([])
    expect(destProxy.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([])
    expect(destProxy.requests.filter((r) => r.path.includes('/blobs/'))).toEqual([])
    expect(await listTags(b.host, 'too-big/app')).toEqual([])
  })

  test('0 disables cross-repository copies but not a retag in place', async () => {
    await expect(copy(`${a.host}/multi/app:v1`, `${b.host}/disabled/app:v1`, { maxArtifactSize: 0 })).rejects.toThrow(
      'cross-repository push is disabled'
    )
    expect(await listTags(b.host, 'disabled/app')).toEqual([])
    await copy(`${a.host}/multi/app:v1`, `${a.host}/multi/app:in-place`, { maxArtifactSize: 0 })
    expect(await listTags(a.host, 'multi/app')).toContain('in-place')
  })

  test('under the limit: copied', async () => {
    await copy(`${a.host}/big/app:v1`, `${b.host}/big/app:v1`, { maxArtifactSize: 3 * 1024 * 1024 })
    expect(await listTags(b.host, 'big/app')).toEqual(['v1'])
  })
})

describe('basic auth (htpasswd)', () => {
  test('with credentials: read from and written to a registry that needs them', async () => {
    const credentials = [
      { registry: secured.host, role: 'source' as const, credentials: login },
      { registry: secured.host, role: 'destination' as const, credentials: login }
    ]
    await copy(`${secured.host}/private/app:v1`, `${b.host}/from-private/app:v1`, { credentials })
    expect(await skopeoRaw(`${b.host}/from-private/app:v1`)).toBe(amd64.root.bytes.toString())
    await copy(`${a.host}/multi/app:v1`, `${secured.host}/to-private/app:v1`, { credentials })
    expect(await skopeoRaw(`${secured.host}/to-private/app:v1`, login)).toBe(ociIndex.root.bytes.toString())
    await expectBlobs(secured.host, 'to-private/app', arm64, login)
  })

  test('without credentials: a one-line error that says which inputs to set', async () => {
    const error = await copy(`${secured.host}/private/app:v1`, `${b.host}/nope/app:v1`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).status).toBe(401)
    expect((error as Error).message).toMatch(/^fetch manifest 127\.0\.0\.1:\d+\/private\/app:v1: 401 UNAUTHORIZED/)
    // The source failed: the hint names the source's inputs, not the destination's.
    expect((error as Error).message).toContain('set srcUsername and srcPassword')
    expect((error as Error).message).not.toMatch(/set username/)
    expect((error as Error).message).not.toContain('\n')
  })

  test('source and destination on one host keep their own credentials: a wrong destination password is refused', async () => {
    const credentials = [
      { registry: secured.host, role: 'source' as const, credentials: login },
      { registry: secured.host, role: 'destination' as const, credentials: { username: login.username, password: 'wrong-destination' } }
    ]
    const error = await copy(`${secured.host}/private/app:v1`, `${secured.host}/other/app:v1`, { credentials }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).status).toBe(401)
    expect(await listTags(secured.host, 'other/app', { credentials: login })).toEqual([])
  })

  test('wrong credentials: refused, and the password is not in the message', async () => {
    const credentials = [
      { registry: secured.host, role: 'source' as const, credentials: { username: 'ci-user', password: 'wrong-password' } }
    ]
    const error = await copy(`${secured.host}/private/app:v1`, `${b.host}/nope/app:v1`, { credentials }).catch((e: unknown) => e)
    expect((error as Error).message).toContain('refused the credentials')
    expect((error as Error).message).not.toContain('wrong-password')
  })
})

describe('redirects', () => {
  test('a blob download redirected to another host is followed without the Authorization header', async () => {
    const front = await startProxy(secured.port)
    // Another loopback address: another host, as a storage service or CDN is.
    const storage = await startProxy(a.port, '127.0.0.2')
    try {
      // The "storage host" serves the same blobs, anonymously.
      await pushFixture(a.host, 'private/app', amd64)
      front.faults.redirectBlobsTo = storage.host
      const credentials = [{ registry: front.host, role: 'source' as const, credentials: login }]
      await copy(`${front.host}/private/app:v1`, `${b.host}/redirected/app:v1`, { credentials })
      await expectBlobs(b.host, 'redirected/app', amd64)
      const downloads = storage.requests.filter((r) => r.path.includes('/blobs/sha256:'))
      expect(downloads).toHaveLength(amd64.blobs.length)
      expect(downloads.some((r) => r.authorization)).toBe(false)
      expect(front.requests.filter((r) => r.path.includes('/manifests/')).every((r) => r.authorization)).toBe(true)
    } finally {
      await Promise.all([front.stop(), storage.stop()])
    }
  })
})

describe('errors', () => {
  test('a missing tag names the reference, the registry code and what to check', async () => {
    await expect(copy(`${a.host}/multi/app:nope`, `${b.host}/x/app`)).rejects.toThrow(
      /^fetch manifest 127\.0\.0\.1:\d+\/multi\/app:nope: 404 MANIFEST_UNKNOWN: .*\(not found: check that the tag or digest exists\)$/
    )
  })

  test('a 403 DENIED says the credentials lack permission', async () => {
    destProxy.reset()
    destProxy.faults.answer = (r) =>
      r.method === 'POST' ? registryError(403, 'DENIED', 'requested access to the resource is denied') : undefined
    const credentials = [{ registry: destProxy.host, role: 'destination' as const, credentials: login }]
    const error = await copy(`${a.host}/multi/app:v1`, `${destProxy.host}/denied/app:v1`, { credentials }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as Error).message).toMatch(/: 403 DENIED: requested access to the resource is denied \(.*lack permission.*\)$/)
    expect(await listTags(b.host, 'denied/app')).toEqual([])
  })

  test('a registry that says it stored a pushed manifest under another digest fails the copy', async () => {
    destProxy.reset()
    const wrong = `sha256:${'0'.repeat(64)}`
    destProxy.faults.editResponse = (r, response) => {
      if (r.method === 'PUT' && r.path.includes('/manifests/')) response.headers['docker-content-digest'] = wrong
    }
    const error = await copy(`${a.host}/multi/app@${amd64.root.digest}`, `${destProxy.host}/rewritten/app:v1`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ContentError)
    expect((error as Error).message).toContain(`stored the manifest as ${wrong}`)
    expect(await listTags(b.host, 'rewritten/app')).toEqual([])
  })

  test('nothing listening: a connection error naming the registry', async () => {
    // Anonymous, the source's first request goes without a ping: the error names that request.
    await expect(copy('127.0.0.1:1/app:v1', `${b.host}/x/app`)).rejects.toThrow(
      /fetch manifest 127\.0\.0\.1:1\/app:v1 \(http:\/\/127\.0\.0\.1:1\): .*ECONNREFUSED.*check the host and port/
    )
  })
})
