/**
 * Writing an archive (issue 24 §1): `destRef: ./out.tar` writes one file as Docker ≥ 25 writes
 * `docker save` — an OCI layout with moby's manifest.json beside it — read back by independent
 * clients (skopeo's `oci-archive:` and `docker-archive:`, umoci), by a manifest.json parser that
 * follows moby's loader, and by our own `archive` input: every digest the source's.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction } from '../testbed/action.js'
import { runCli } from '../testbed/cli.js'
import {
  descriptor,
  helmChart,
  image,
  index,
  JSON_FORMATS,
  listTags,
  makeBlob,
  pushFixture,
  rawManifest,
  referrer
} from '../testbed/fixtures.js'
import { startProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, run } from '../testbed/tools.js'

let registry: TestRegistry
let dir: string

const app = image({ seed: 'write-app', layers: 2 })
const amd = image({ seed: 'write-amd64' })
const arm = image({ seed: 'write-arm64', architecture: 'arm64' })
const multi = index([amd, arm])
/** Linux and Windows in one index: moby's loader refuses a Windows image on Linux. */
const mixed = index([image({ seed: 'write-mixed-linux' }), image({ seed: 'write-mixed-windows', os: 'windows' })])
const chart = helmChart('demo', '0.1.0')

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo', 'umoci'])
  registry = await startRegistry()
  await pushFixture(registry.host, 'lib/app', app, 'v1')
  await pushFixture(registry.host, 'lib/multi', multi, 'v2')
  await pushFixture(registry.host, 'lib/mixed', mixed, 'v3')
  await pushFixture(registry.host, 'charts/demo', chart, '0.1.0')
  dir = await mkdtemp(join(tmpdir(), 'oci-push-write-'))
}, 60_000)

afterAll(async () => {
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** What skopeo reads from a transport other than docker:// (`oci-archive:`, `docker-archive:`). */
const skopeoRaw = (reference: string) => run('skopeo', ['inspect', '--raw', reference])

/** The entries of a tar (gzip'd or not), as `tar` lists them. */
async function entries(path: string): Promise<string[]> {
  const listing = await run('tar', ['-tf', path])
  return listing.split('\n').filter((line) => line !== '')
}

async function member(path: string, name: string): Promise<string> {
  return run('tar', ['-xOf', path, name])
}

/** manifest.json read as moby's loader reads it: every Config and Layers path must be an entry of the tar. */
async function loadableImages(path: string): Promise<Array<{ Config: string; RepoTags: string[]; Layers: string[] }>> {
  const names = new Set(await entries(path))
  const manifest = JSON.parse(await member(path, 'manifest.json')) as Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }>
  for (const image of manifest) {
    expect(names.has(image.Config)).toBe(true)
    for (const layer of image.Layers) expect(names.has(layer)).toBe(true)
  }
  return manifest.map((m) => ({ ...m, RepoTags: m.RepoTags ?? [] }))
}

describe('a destination ending in .tar is one archive file', () => {
  test('an image: a Docker 25 save that skopeo reads as oci-archive and docker-archive, named as Docker names it', async () => {
    const out = join(dir, 'app.tar')
    const step = await runAction({ srcRef: `${registry.host}/lib/app:v1`, destRef: out })
    expect(step.exitCode).toBe(0)
    expect(step.outputs.digest).toBe(app.root.digest)
    expect((await entries(out)).sort()).toEqual(
      [
        'index.json',
        'manifest.json',
        'oci-layout',
        'repositories',
        ...[...app.blobs, app.root].map((b) => `blobs/sha256/${b.digest.slice(7)}`)
      ].sort()
    )
    const indexJson = JSON.parse(await member(out, 'index.json')) as {
      manifests: Array<{ digest: string; annotations: Record<string, string> }>
    }
    expect(indexJson.manifests).toEqual([
      expect.objectContaining({
        digest: app.root.digest,
        annotations: { 'io.containerd.image.name': `${registry.host}/lib/app:v1`, 'org.opencontainers.image.ref.name': 'v1' }
      })
    ])
    expect(await skopeoRaw(`oci-archive:${out}:v1`)).toBe(app.root.bytes.toString())
    const [loadable] = await loadableImages(out)
    expect(loadable.RepoTags).toEqual([`${registry.host}/lib/app:v1`])
    expect(loadable.Config).toBe(`blobs/sha256/${app.blobs[0].digest.slice(7)}`)
    expect(JSON.parse(await run('skopeo', ['inspect', '--config', `docker-archive:${out}`]))).toMatchObject({
      architecture: 'amd64',
      os: 'linux'
    })
    // Nothing but the archive beside it: the temporary file was renamed.
    expect((await readdir(dir)).filter((name) => name.includes('app.tar'))).toEqual(['app.tar'])
  })

  test('a multi-arch index into .tar.gz: the index kept whole, manifest.json lists its images, umoci and our archive input read it', async () => {
    const out = join(dir, 'multi.tar.gz')
    const step = await runCli(['copy', `${registry.host}/lib/multi:v2`, out, '--quiet'])
    expect(step.exitCode).toBe(0)
    expect(await skopeoRaw(`oci-archive:${out}:v2`)).toBe(multi.root.bytes.toString())
    const loadable = await loadableImages(out)
    expect(loadable.map((l) => l.Config).sort()).toEqual([amd, arm].map((f) => `blobs/sha256/${f.blobs[0].digest.slice(7)}`).sort())
    expect(loadable.flatMap((l) => l.RepoTags)).toEqual([`${registry.host}/lib/multi:v2`])
    // umoci reads the layout it holds.
    const layout = join(dir, 'multi-layout')
    await mkdir(layout)
    await run('tar', ['-xzf', out, '-C', layout])
    await run('umoci', ['ls', '--layout', layout])
    // Round trip: pushed back by our own archive input, the same digest.
    const back = await runAction({ archive: out, destRef: `${registry.host}/back/multi:v2` })
    expect(back.exitCode).toBe(0)
    expect(await rawManifest(registry.host, 'back/multi', 'v2')).toBe(multi.root.bytes.toString())
  })

  test('a failed copy leaves no archive and no temporary file; an existing file is replaced; a directory is refused', async () => {
    const out = join(dir, 'failed.tar')
    const failed = await runAction({ srcRef: `${registry.host}/lib/app:missing`, destRef: out })
    expect(failed.exitCode).toBe(1)
    expect((await readdir(dir)).filter((name) => name.includes('failed.tar'))).toEqual([])

    const replaced = join(dir, 'replaced.tar')
    await writeFile(replaced, 'old contents')
    expect((await runAction({ srcRef: `${registry.host}/lib/app:v1`, destRef: replaced })).exitCode).toBe(0)
    expect(await skopeoRaw(`oci-archive:${replaced}:v1`)).toBe(app.root.bytes.toString())

    const directory = join(dir, 'is-a-dir.tar')
    await mkdir(directory)
    const refused = await runAction({ srcRef: `${registry.host}/lib/app:v1`, destRef: directory })
    expect(refused.exitCode).toBe(1)
    expect(refused.stdout).toContain('is a directory; an archive is written as a file')
  })

  test('a trailing / keeps a path ending in .tar a layout directory', async () => {
    const layout = join(dir, 'layout.tar')
    const step = await runAction({ srcRef: `${registry.host}/lib/app:v1`, destRef: `${layout}/` })
    expect(step.exitCode).toBe(0)
    expect((await readdir(layout)).sort()).toEqual(['blobs', 'index.json', 'oci-layout'])
  })

  test('a dry run writes no file', async () => {
    const out = join(dir, 'dry.tar')
    const step = await runAction({ srcRef: `${registry.host}/lib/app:v1`, destRef: out, dryRun: 'true' })
    expect(step.exitCode).toBe(0)
    expect((await readdir(dir)).filter((name) => name.includes('dry.tar'))).toEqual([])
  })
})

describe('mirror → bundle → push (issue 24 §2)', () => {
  test('every selected pair into one archive, each blob once, named by its source; pushed back under a prefix with the same digests', async () => {
    const workspace = await mkdtemp(join(dir, 'bundle-'))
    await writeFile(
      join(workspace, 'mirror.yml'),
      `mirrors:\n  - source: ${registry.host}/lib/app\n    tags: ['v1']\n  - source: ${registry.host}/lib/multi:v2\n`
    )
    const bundle = join(workspace, 'images.tar')
    const dry = await runAction({ mirror: 'mirror.yml', bundle, dryRun: 'true' }, { GITHUB_WORKSPACE: workspace })
    expect(dry.exitCode).toBe(0)
    expect((JSON.parse(dry.outputs.mirrored) as Array<{ status: string }>).map((r) => r.status)).toEqual(['planned', 'planned'])
    expect((await readdir(workspace)).filter((name) => name.includes('images.tar'))).toEqual([])

    const written = await runAction({ mirror: 'mirror.yml', bundle }, { GITHUB_WORKSPACE: workspace })
    expect(written.exitCode).toBe(0)
    const names = await entries(bundle)
    expect(new Set(names).size).toBe(names.length)
    const indexJson = JSON.parse(await member(bundle, 'index.json')) as {
      manifests: Array<{ digest: string; annotations: Record<string, string> }>
    }
    expect(indexJson.manifests.map((m) => m.annotations['io.containerd.image.name']).sort()).toEqual(
      [`${registry.host}/lib/app:v1`, `${registry.host}/lib/multi:v2`].sort()
    )

    const pushed = await runAction({ archive: bundle, destRef: `${registry.host}/inside/` })
    expect(pushed.exitCode).toBe(0)
    expect(await rawManifest(registry.host, 'inside/lib/app', 'v1')).toBe(app.root.bytes.toString())
    expect(await rawManifest(registry.host, 'inside/lib/multi', 'v2')).toBe(multi.root.bytes.toString())
  })

  test('bundle without mirror, or not an archive name, is refused naming the input', async () => {
    const alone = await runAction({ srcRef: `${registry.host}/lib/app:v1`, destRef: `${registry.host}/x/app:v1`, bundle: 'x.tar' })
    expect(alone.exitCode).toBe(1)
    expect(alone.stdout).toMatch(/::error::bundle: writes a mirror run into one archive/)
    const badName = await runAction({ mirror: `mirrors:\n  - source: ${registry.host}/lib/app:v1\n`, bundle: 'images.zip' })
    expect(badName.exitCode).toBe(1)
    expect(badName.stdout).toContain('is not an archive file name')
  })
})

describe('what a loader can use, and failures mid-stream', () => {
  test('manifest.json lists Linux container images only: not a Windows child, not a Helm chart', async () => {
    const out = join(dir, 'loadable.tar')
    expect((await runCli(['copy', `${registry.host}/lib/mixed:v3`, out, '--quiet'])).exitCode).toBe(0)
    const linux = mixed.children.find((c) => !c.bytes.toString().includes('windows')) ?? mixed.children[0]
    const loadable = await loadableImages(out)
    expect(loadable).toHaveLength(1)
    expect(loadable[0].RepoTags).toEqual([`${registry.host}/lib/mixed:v3`])
    expect(await member(out, 'manifest.json')).toContain(
      (JSON.parse(linux.bytes.toString()) as { config: { digest: string } }).config.digest.slice(7)
    )
    const charted = join(dir, 'chart.tar')
    expect((await runCli(['copy', `${registry.host}/charts/demo:0.1.0`, charted, '--quiet'])).exitCode).toBe(0)
    expect(await loadableImages(charted)).toEqual([])
    expect(await skopeoRaw(`oci-archive:${charted}:0.1.0`)).toBe(chart.root.bytes.toString())
  })

  test('a blob cut off while it is written fails the step at once: no archive, no temporary file', async () => {
    const proxy = await startProxy(registry.port)
    try {
      const layer = app.blobs[1].digest
      proxy.faults.rules = [
        { match: (r) => r.method === 'GET' && r.path.endsWith(`/blobs/${layer}`), times: Infinity, action: { cutBody: true } }
      ]
      const out = join(dir, 'cut.tar')
      const step = await runAction({ srcRef: `${proxy.host}/lib/app:v1`, destRef: out })
      expect(step.exitCode).toBe(1)
      expect(step.stdout).toContain('the archive cannot be completed')
      expect((await readdir(dir)).filter((name) => name.includes('cut.tar'))).toEqual([])
    } finally {
      await proxy.stop()
    }
  })

  test('a destRef that is a bare archive name is refused, not read as a Docker Hub repository', async () => {
    const step = await runAction({ srcRef: `${registry.host}/lib/app:v1`, destRef: 'out.tar' })
    expect(step.exitCode).toBe(1)
    expect(step.stdout).toContain('"out.tar" reads as a Docker Hub repository; write ./out.tar for an archive file')
  })

  test('a bundle of an empty shard is an empty archive, never an older file left in place', async () => {
    const workspace = await mkdtemp(join(dir, 'shards-'))
    await writeFile(join(workspace, 'one.yml'), `mirrors:\n  - source: ${registry.host}/lib/app:v1\n`)
    const images: number[] = []
    for (const shard of ['0/2', '1/2']) {
      const bundle = join(workspace, `images-${shard[0]}.tar`)
      await writeFile(bundle, 'an older bundle')
      const step = await runAction({ mirror: 'one.yml', bundle, shard }, { GITHUB_WORKSPACE: workspace })
      expect(step.exitCode).toBe(0)
      images.push((JSON.parse(await member(bundle, 'index.json')) as { manifests: unknown[] }).manifests.length)
    }
    expect(images.sort()).toEqual([0, 1])
  })
})

describe('referrers through a bundle (issue 24 §2: referrers and charts included)', () => {
  test('an SBOM in the tag schema and a cosign .sig tag go into the bundle and come back out beside their image', async () => {
    const signed = image({ seed: 'write-signed' })
    const sbom = referrer(signed.root, 'application/vnd.example.sbom.v1+json')
    const signature = referrer(signed.root, 'application/vnd.dev.cosign.simplesigning.v1+json')
    const hex = signed.root.digest.slice('sha256:'.length)
    const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
    const tagIndex = makeBlob(
      OCI_INDEX,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [descriptor(sbom.root, { artifactType: 'application/vnd.example.sbom.v1+json' })]
        })
      )
    )
    await pushFixture(registry.host, 'lib/signed', signed, 'v1')
    await pushFixture(registry.host, 'lib/signed', sbom)
    await pushFixture(registry.host, 'lib/signed', { root: tagIndex, children: [], blobs: [] }, `sha256-${hex}`)
    await pushFixture(registry.host, 'lib/signed', signature, `sha256-${hex}.sig`)

    const workspace = await mkdtemp(join(dir, 'signed-'))
    await writeFile(join(workspace, 'mirror.yml'), `mirrors:\n  - source: ${registry.host}/lib/signed:v1\n    referrers: true\n`)
    const bundle = join(workspace, 'signed.tar')
    const written = await runAction({ mirror: 'mirror.yml', bundle }, { GITHUB_WORKSPACE: workspace })
    expect(written.exitCode).toBe(0)
    const names = (
      JSON.parse(await member(bundle, 'index.json')) as { manifests: Array<{ annotations: Record<string, string> }> }
    ).manifests.map((m) => m.annotations['io.containerd.image.name'])
    expect(names.sort()).toEqual(
      [
        `${registry.host}/lib/signed:sha256-${hex}`,
        `${registry.host}/lib/signed:sha256-${hex}.sig`,
        `${registry.host}/lib/signed:v1`
      ].sort()
    )

    const pushed = await runAction({ archive: bundle, destRef: `${registry.host}/signed-inside/` })
    expect(pushed.exitCode).toBe(0)
    expect((await listTags(registry.host, 'signed-inside/lib/signed')).sort()).toEqual([`sha256-${hex}`, `sha256-${hex}.sig`, 'v1'])
    const listed = JSON.parse(await rawManifest(registry.host, 'signed-inside/lib/signed', `sha256-${hex}`)) as {
      manifests: Array<{ digest: string }>
    }
    expect(listed.manifests.map((m) => m.digest)).toEqual([sbom.root.digest])
    expect(await rawManifest(registry.host, 'signed-inside/lib/signed', sbom.root.digest)).toBe(sbom.root.bytes.toString())
  })
})

describe('manifests as the world writes them', () => {
  test.each(JSON_FORMATS)(
    'a %s index and its images go into the archive byte for byte, and manifest.json still lists them',
    async (format) => {
      const shaped = index(
        [image({ seed: `write-${format}-amd64`, format }), image({ seed: `write-${format}-arm64`, architecture: 'arm64', format })],
        { format }
      )
      await pushFixture(registry.host, `shaped/${format}`, shaped, 'v1')
      const out = join(dir, `shaped-${format}.tar`)
      expect((await runCli(['copy', `${registry.host}/shaped/${format}:v1`, out, '--quiet'])).exitCode).toBe(0)
      expect(await skopeoRaw(`oci-archive:${out}:v1`)).toBe(shaped.root.bytes.toString())
      for (const child of shaped.children) expect(await member(out, `blobs/sha256/${child.digest.slice(7)}`)).toBe(child.bytes.toString())
      expect(await loadableImages(out)).toHaveLength(2)
    }
  )
})
