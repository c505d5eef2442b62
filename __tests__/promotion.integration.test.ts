/**
 * Promotion as production pipelines do it (issue 22), run as the runner runs the action against
 * real `docker-registry` instances: tags never written again (a registry with immutable tags,
 * played by the test-bed proxy, refuses even the same digest), signatures and attestations of
 * every common shape coming along, and mirror re-runs bringing what was signed since.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../testbed/action.js'
import { descriptor, image, index, listTags, makeBlob, pushFixture, rawManifest, referrer, type Fixture } from '../testbed/fixtures.js'
import { writes } from '../testbed/hostile.js'
import { registryError, startProxy, type RecordedRequest, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools } from '../testbed/tools.js'

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const SBOM = 'application/vnd.example.sbom.v1+json'
const SIGNATURE = 'application/vnd.dev.sigstore.bundle.v0.3+json'

let source: TestRegistry
/** The source answering the referrers API (distribution has none). */
let apiSource: RecordingProxy
let destination: TestRegistry
/** The destination with immutable tags: a second PUT of a tag is refused, as ECR answers it. */
let immutable: RecordingProxy
let workspace: string

const app = image({ seed: 'promote-app' })
const next = image({ seed: 'promote-app-next' })
const multi = index([image({ seed: 'promote-amd64' }), image({ seed: 'promote-arm64', architecture: 'arm64' })])
const sbom = referrer(app.root, SBOM)
/** A signature of the SBOM: a referrer of a referrer. */
const sbomSignature = referrer(sbom.root, SIGNATURE)
const signedLater = referrer(app.root, SIGNATURE)

const tagOf = (digest: string) => digest.replace(':', '-')

/** The tag schema index as cosign v3 writes it on a registry without the API: `artifactType` empty. */
function cosignV3Index(referrers: readonly Fixture[]): Fixture {
  const manifests = referrers.map((r) => descriptor(r.root, { artifactType: '' }))
  return {
    root: makeBlob(OCI_INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }))),
    children: [],
    blobs: []
  }
}

function taggedIndex(referrers: readonly Fixture[], artifactType: string): Fixture {
  const manifests = referrers.map((r) => descriptor(r.root, { artifactType }))
  return {
    root: makeBlob(OCI_INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }))),
    children: [],
    blobs: []
  }
}

/** Tags PUT through the immutable proxy so far: a second PUT of one is refused. */
const stored = new Set<string>()
const isTagPut = (r: RecordedRequest) => r.method === 'PUT' && /\/manifests\/(?!sha256:)[^/?]+$/.test(r.path)

beforeAll(async () => {
  await requireTools(['docker-registry'])
  ;[source, destination] = await Promise.all([startRegistry(), startRegistry({ accessLog: true })])
  ;[apiSource, immutable] = await Promise.all([startProxy(source.port, '127.0.0.1', { referrersApi: {} }), startProxy(destination.port)])
  // A tag schema index as cosign v3 writes it, a signature of the SBOM, and cosign's legacy tags.
  await pushFixture(source.host, 'signed/app', app, 'v1')
  await pushFixture(source.host, 'signed/app', next, 'v2')
  await pushFixture(source.host, 'signed/app', sbom)
  await pushFixture(source.host, 'signed/app', sbomSignature)
  await pushFixture(source.host, 'signed/app', cosignV3Index([sbom]), tagOf(app.root.digest))
  await pushFixture(source.host, 'signed/app', taggedIndex([sbomSignature], SIGNATURE), tagOf(sbom.root.digest))
  const attestation = referrer(app.root, 'application/vnd.dsse.envelope.v1+json')
  const legacySbom = referrer(app.root, 'text/spdx+json')
  await pushFixture(source.host, 'signed/app', attestation, `${tagOf(app.root.digest)}.att`)
  await pushFixture(source.host, 'signed/app', legacySbom, `${tagOf(app.root.digest)}.sbom`)
  // The referrers API: pushed through the proxy that lists what has a subject.
  await pushFixture(apiSource.host, 'api/app', multi, 'v1')
  await pushFixture(apiSource.host, 'api/app', referrer(multi.root, SBOM))
  await pushFixture(apiSource.host, 'api/app', referrer(multi.root, SIGNATURE))
  workspace = await mkdtemp(join(tmpdir(), 'oci-push-promotion-'))
}, 120_000)

afterAll(async () => {
  await Promise.all([apiSource?.stop(), immutable?.stop()])
  await Promise.all([source?.stop(), destination?.stop()])
  if (workspace) await rm(workspace, { recursive: true, force: true })
})

beforeEach(() => {
  immutable.reset()
  immutable.faults.answer = (r) => {
    if (!isTagPut(r)) return undefined
    if (stored.has(r.path))
      return registryError(
        400,
        'TAG_INVALID',
        'The image tag already exists and cannot be overwritten because the repository is immutable.'
      )
    stored.add(r.path)
    return undefined
  }
})

const ok = (run: ActionRun) => {
  if (run.exitCode !== 0) throw new Error(`the step failed:\n${run.stdout}`)
  return run
}

async function tagsOf(repository: string): Promise<string[]> {
  return listTags(destination.host, repository)
}

describe('never write what is already there', () => {
  test('a re-run onto a registry that refuses tag overwrites succeeds, says "already at", and writes nothing', async () => {
    const inputs = { srcRef: `${source.host}/signed/app:v1`, destRef: `${immutable.host}/immutable/app:v1`, referrers: 'true' }
    ok(await runAction(inputs))
    destination.clearAccessLog()
    await new Promise((resolve) => setTimeout(resolve, 300))
    destination.clearAccessLog()
    const again = ok(await runAction(inputs))
    expect(again.stdout).toContain(`${immutable.host}/immutable/app:v1 is already at ${app.root.digest}`)
    expect(again.outputs.digest).toBe(app.root.digest)
    expect(writes(await destination.accessLog())).toEqual([])
  })

  test('a re-run of a plain retag and of a multi-arch copy writes nothing', async () => {
    const runs: Array<Record<string, string>> = [
      { srcRef: `${source.host}/signed/app:v1`, destRef: `${immutable.host}/retag/app:v1\n${immutable.host}/retag/app:stable` },
      { srcRef: `${apiSource.host}/api/app:v1`, destRef: `${immutable.host}/multi/app:v1`, referrers: 'true' }
    ]
    for (const inputs of runs) {
      ok(await runAction(inputs))
      await new Promise((resolve) => setTimeout(resolve, 300))
      destination.clearAccessLog()
      ok(await runAction(inputs))
      expect(writes(await destination.accessLog())).toEqual([])
    }
  })

  test('a re-run of an archive push and of a package push onto immutable tags writes nothing', async () => {
    const { writeTar } = await import('../testbed/tarballs.js')
    const archive = join(workspace, 'app.tar')
    const entry = {
      mediaType: app.root.mediaType,
      digest: app.root.digest,
      size: app.root.size,
      annotations: { 'org.opencontainers.image.ref.name': 'v1' }
    }
    await writeTar(archive, [
      { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests: [entry] }) },
      ...[...app.blobs, app.root].map((b) => ({ name: `blobs/sha256/${b.digest.slice(7)}`, body: b.bytes }))
    ])
    const packaged = join(workspace, 'config-dir')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(packaged, { recursive: true })
    await writeFile(join(packaged, 'settings.json'), '{"replicas": 3}')
    const runs: Array<Record<string, string>> = [
      { archive, destRef: `${immutable.host}/archived/app` },
      { path: packaged, artifactType: 'application/vnd.example.config.v1+tar', destRef: `${immutable.host}/packaged/config:v1` }
    ]
    for (const inputs of runs) {
      ok(await runAction(inputs, { SOURCE_DATE_EPOCH: '0' }))
      await new Promise((resolve) => setTimeout(resolve, 300))
      destination.clearAccessLog()
      const again = ok(await runAction(inputs, { SOURCE_DATE_EPOCH: '0' }))
      expect(again.stdout).toContain('is already at sha256:')
      expect(writes(await destination.accessLog())).toEqual([])
    }
  })

  test('a tag holding another digest on a registry that refuses to move it: the error names the tag, both digests and the refusal', async () => {
    ok(await runAction({ srcRef: `${source.host}/signed/app:v1`, destRef: `${immutable.host}/moved/app:v1` }))
    const run = await runAction({ srcRef: `${source.host}/signed/app:v2`, destRef: `${immutable.host}/moved/app:v1` })
    expect(run.exitCode).toBe(1)
    const error = run.stdout.split('\n').find((line) => line.startsWith('::error::')) ?? ''
    expect(error).toContain(`${immutable.host}/moved/app:v1`)
    expect(error).toContain(`holds ${app.root.digest}`)
    expect(error).toContain(`with ${next.root.digest}`)
    expect(error).toContain('refused to overwrite')
    expect(error).toContain('400 TAG_INVALID')
    expect(await rawManifest(destination.host, 'moved/app', 'v1')).toBe(app.root.bytes.toString())
  })
})

describe('referrers as signers write them', () => {
  test('a cosign v3 tag schema index ("artifactType": ""), a signature on the SBOM, and the legacy .att and .sbom tags all come along', async () => {
    const run = ok(
      await runAction({ srcRef: `${source.host}/signed/app:v1`, destRef: `${destination.host}/shapes/app:v1`, referrers: 'true' })
    )
    expect(run.stdout).not.toContain('not a media type')
    const tags = await tagsOf('shapes/app')
    expect(tags).toEqual(
      expect.arrayContaining([
        'v1',
        tagOf(app.root.digest),
        tagOf(sbom.root.digest),
        `${tagOf(app.root.digest)}.att`,
        `${tagOf(app.root.digest)}.sbom`
      ])
    )
    const listed = JSON.parse(await rawManifest(destination.host, 'shapes/app', tagOf(app.root.digest))) as {
      manifests: Array<{ digest: string }>
    }
    expect(listed.manifests.map((m) => m.digest)).toEqual([sbom.root.digest])
    const signatures = JSON.parse(await rawManifest(destination.host, 'shapes/app', tagOf(sbom.root.digest))) as {
      manifests: Array<{ digest: string }>
    }
    expect(signatures.manifests.map((m) => m.digest)).toEqual([sbomSignature.root.digest])
  })

  test('from a registry with the API to one without: the tag schema index is merged with what the destination has', async () => {
    const already = referrer(multi.root, 'application/vnd.example.already.v1+json')
    await pushFixture(destination.host, 'merged/app', multi, 'v0')
    await pushFixture(destination.host, 'merged/app', already)
    await pushFixture(
      destination.host,
      'merged/app',
      taggedIndex([already], 'application/vnd.example.already.v1+json'),
      tagOf(multi.root.digest)
    )
    ok(await runAction({ srcRef: `${apiSource.host}/api/app:v1`, destRef: `${destination.host}/merged/app:v1`, referrers: 'true' }))
    const listed = JSON.parse(await rawManifest(destination.host, 'merged/app', tagOf(multi.root.digest))) as {
      manifests: Array<{ digest: string }>
    }
    expect(listed.manifests.map((m) => m.digest).sort()).toEqual(
      [already.root.digest, referrer(multi.root, SBOM).root.digest, referrer(multi.root, SIGNATURE).root.digest].sort()
    )
  })
})

describe('mirror re-runs bring what is new', () => {
  async function mirror(config: string): Promise<ActionRun> {
    const name = `mirror-${Math.random().toString(36).slice(2)}.yml`
    await writeFile(join(workspace, name), config)
    return runAction({ mirror: name }, { GITHUB_WORKSPACE: workspace })
  }
  const statuses = (run: ActionRun) =>
    (JSON.parse(run.outputs.mirrored) as Array<{ destination: string; status: string }>).map((r) => r.status)

  test('a signature attached upstream after the first run reaches the mirror: status referrers', async () => {
    await pushFixture(source.host, 'later/app', app, 'v1')
    const config = `mirrors:\n  - source: ${source.host}/later/app\n    destination: ${destination.host}/later/app\n    tags: ['v1']\n    referrers: true\n`
    expect(statuses(ok(await mirror(config)))).toEqual(['copied'])
    expect(statuses(ok(await mirror(config)))).toEqual(['skipped'])
    // Signed after the push: the tag schema index at the source gets the signature.
    await pushFixture(source.host, 'later/app', signedLater)
    await pushFixture(source.host, 'later/app', taggedIndex([signedLater], SIGNATURE), tagOf(app.root.digest))
    const third = ok(await mirror(config))
    expect(statuses(third)).toEqual(['referrers'])
    const listed = JSON.parse(await rawManifest(destination.host, 'later/app', tagOf(app.root.digest))) as {
      manifests: Array<{ digest: string }>
    }
    expect(listed.manifests.map((m) => m.digest)).toEqual([signedLater.root.digest])
    // Up to date again: at the destination, the tag's HEAD and one referrers lookup (the API asked,
    // 404 on distribution, then the tag schema index): no write, no manifest of a referrer read.
    await new Promise((resolve) => setTimeout(resolve, 300))
    destination.clearAccessLog()
    expect(statuses(ok(await mirror(config)))).toEqual(['skipped'])
    const log = (await destination.accessLog()).filter((entry) => entry.path !== '/v2/')
    expect(log.map((entry) => `${entry.method} ${entry.path.split('?')[0]}`)).toEqual([
      'HEAD /v2/later/app/manifests/v1',
      `GET /v2/later/app/referrers/${app.root.digest}`,
      `GET /v2/later/app/manifests/${tagOf(app.root.digest)}`
    ])
  })

  test('a tag that moved upstream is copied again', async () => {
    await pushFixture(source.host, 'moving/app', app, 'stable')
    const config = `mirrors:\n  - source: ${source.host}/moving/app\n    destination: ${destination.host}/moving/app\n    tags: ['stable']\n`
    expect(statuses(ok(await mirror(config)))).toEqual(['copied'])
    await pushFixture(source.host, 'moving/app', next, 'stable')
    await new Promise((resolve) => setTimeout(resolve, 300))
    destination.clearAccessLog()
    expect(statuses(ok(await mirror(config)))).toEqual(['copied'])
    // The pair's HEAD of the tag told the plan what it holds: the tag is asked once, not twice.
    const heads = (await destination.accessLog()).filter((e) => e.method === 'HEAD' && e.path === '/v2/moving/app/manifests/stable')
    expect(heads).toHaveLength(1)
    expect(await rawManifest(destination.host, 'moving/app', 'stable')).toBe(next.root.bytes.toString())
  })
})
