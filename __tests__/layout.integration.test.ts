/**
 * Local OCI image layouts as sources and destinations, made and checked by the real tools:
 * umoci (several tags), skopeo (`oci:` and `skopeo inspect oci:`), and the registry.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 } from '../src/digest.js'
import { ContentError, InputError } from '../src/errors.js'
import { runAction } from '../testbed/action.js'
import { image, index, listTags, pushFixture } from '../testbed/fixtures.js'
import { umociLayout } from '../testbed/umoci.js'
import { startProxy, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, run, skopeoPullAll, skopeoRaw } from '../testbed/tools.js'
import { copy } from './helpers/copy.js'

let registry: TestRegistry
let proxy: RecordingProxy
let dir: string
const amd64 = image({ seed: 'layout-amd64' })
const multi = index([amd64, image({ seed: 'layout-arm64', architecture: 'arm64' })])

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo', 'umoci'])
  registry = await startRegistry()
  proxy = await startProxy(registry.port)
  dir = await mkdtemp(join(tmpdir(), 'oci-push-layout-'))
  await pushFixture(registry.host, 'multi/app', multi, 'v1')
  await umociLayout(join(dir, 'umoci'), ['v1', 'v2'])
}, 60_000)

afterAll(async () => {
  await proxy?.stop()
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const inspectLayout = (layout: string) => run('skopeo', ['inspect', '--raw', `oci:${layout}`])

describe('a layout as the destination (export)', () => {
  test('a multi-arch index exported: skopeo opens it by tag, every platform pulls, umoci reads the image', async () => {
    const out = join(dir, 'export')
    const result = await copy(`${registry.host}/multi/app:v1`, `${out}:v1`)
    expect(result.pushed.map((p) => p.ref)).toEqual([`${out}:v1`])
    expect(await inspectLayout(`${out}:v1`)).toBe(multi.root.bytes.toString())
    await run('skopeo', ['copy', '--quiet', '--all', `oci:${out}:v1`, `oci:${join(dir, 'export-check')}:v1`])
    expect(JSON.parse(await readFile(join(out, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' })
    // A second tag in the same layout: the entry is added, the first kept.
    await copy(`${registry.host}/multi/app@${amd64.root.digest}`, `${out}:amd64`)
    const entries = (
      JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ annotations: Record<string, string> }> }
    ).manifests
    expect(entries.map((e) => e.annotations['org.opencontainers.image.ref.name']).sort()).toEqual(['amd64', 'v1'])
    await run('umoci', ['stat', '--image', `${out}:amd64`])
  })

  test('the same tag again moves it: one entry per name', async () => {
    const out = join(dir, 'retag')
    await copy(`${registry.host}/multi/app:v1`, `${out}:latest`)
    await copy(`${registry.host}/multi/app@${amd64.root.digest}`, `${out}:latest`)
    const entries = (JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }).manifests
    expect(entries.map((e) => e.digest)).toEqual([amd64.root.digest])
  })
})

describe('a layout as the source', () => {
  test('a umoci layout with two tags: each pushed by its tag, byte for byte', async () => {
    for (const tag of ['v1', 'v2']) {
      const expected = await inspectLayout(`${join(dir, 'umoci')}:${tag}`)
      const result = await copy(`${join(dir, 'umoci')}:${tag}`, `${registry.host}/from-umoci/app:${tag}`)
      expect(await skopeoRaw(`${registry.host}/from-umoci/app:${tag}`)).toBe(expected)
      expect(result.digest).toBe(sha256(Buffer.from(expected)))
      await skopeoPullAll(`${registry.host}/from-umoci/app:${tag}`)
    }
  })

  test('a tagless layout with one entry needs no tag', async () => {
    const tagless = join(dir, 'tagless')
    await copy(`${registry.host}/multi/app:v1`, tagless)
    // The export kept the source's tag; take the names away, as ORAS and crane leave layouts.
    const indexFile = join(tagless, 'index.json')
    const indexJson = JSON.parse(await readFile(indexFile, 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> }
    for (const entry of indexJson.manifests) delete entry.annotations
    await writeFile(indexFile, JSON.stringify(indexJson))
    const result = await copy(tagless, `${registry.host}/from-tagless/app:v1`)
    expect(result.digest).toBe(multi.root.digest)
    expect(await skopeoRaw(`${registry.host}/from-tagless/app:v1`)).toBe(multi.root.bytes.toString())
  })

  test('several entries and no tag: an error listing them and how to choose', async () => {
    const error = await copy(join(dir, 'umoci'), `${registry.host}/nope/app:v1`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toMatch(
      /holds 2 images: sha256:[0-9a-f]{64} application\/vnd\.oci\.image\.manifest\.v1\+json \S+ \(v1\); .*\(v2\); choose one with :tag or @sha256:/
    )
  })

  test('a tag the layout lacks: an error naming the tags it has', async () => {
    await expect(copy(`${join(dir, 'umoci')}:v9`, `${registry.host}/nope/app:v9`)).rejects.toThrow(
      /has no image tagged "v9"; it has v1, v2/
    )
  })

  test('an index.json entry whose digest is a path: refused naming index.json, the file it leads to never read', async () => {
    const crafted = join(dir, 'crafted')
    await copy(`${registry.host}/multi/app@${amd64.root.digest}`, `${crafted}:v1`)
    // From blobs/sha256/, this digest leads to a valid manifest beside the layout: read, it would be pushed.
    await writeFile(join(dir, 'outside.json'), amd64.root.bytes)
    const indexFile = join(crafted, 'index.json')
    const indexJson = JSON.parse(await readFile(indexFile, 'utf8')) as { manifests: Array<{ digest: string }> }
    indexJson.manifests[0].digest = 'sha256:../../../outside.json'
    await writeFile(indexFile, JSON.stringify(indexJson))
    const error = await copy(`${crafted}:v1`, `${registry.host}/crafted/app:v1`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ContentError)
    expect((error as Error).message).toMatch(
      new RegExp(`^${indexFile}: manifests\\[0\\] has digest "sha256:\\.\\./\\.\\./\\.\\./outside\\.json", which is not algorithm:hex`)
    )
    expect(await listTags(registry.host, 'crafted/app')).toEqual([])
  })

  test('a layout retagged in place: manifests only, no blob written again', async () => {
    const out = join(dir, 'inplace')
    await copy(`${registry.host}/multi/app:v1`, `${out}:v1`)
    const result = await copy(`${out}:v1`, `${out}:v1.0.0`)
    expect(result.stats).toMatchObject({ blobsUploaded: 0, bytesUploaded: 0 })
    expect(await inspectLayout(`${out}:v1.0.0`)).toBe(multi.root.bytes.toString())
  })
})

describe('the action', () => {
  test('export to a local layout as the runner runs it', async () => {
    const out = join(dir, 'action-export')
    const result = await runAction({ srcRef: `${registry.host}/multi/app:v1`, destRef: `${out}:release` })
    expect(result.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([])
    expect(result.outputs.image).toBe(`${out}:release`)
    expect(result.outputs.digest).toBe(multi.root.digest)
    expect(await inspectLayout(`${out}:release`)).toBe(multi.root.bytes.toString())
  })

  test('a source path that is no layout: one error naming srcRef', async () => {
    const result = await runAction({ srcRef: `${dir}/nothing-here:v1`, destRef: `${registry.host}/x/app:v1` })
    expect(result.exitCode).toBe(1)
    expect(result.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([
      `::error::srcRef: ${dir}/nothing-here is not an OCI image layout (it has no index.json)`
    ])
  })
})

describe('a layout target hashes what the registry would', () => {
  test('corrupted bytes on the way to a layout are refused by our own check, nothing written under the digest', async () => {
    proxy.reset()
    proxy.faults.corruptBlobs = true
    const out = join(dir, 'corrupt-export')
    const error = await copy(`${proxy.host}/multi/app:v1`, `${out}:v1`).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/@sha256:[0-9a-f]{64}: blob content has digest sha256:[0-9a-f]{64}, expected sha256:/)
    await expect(readFile(join(out, 'index.json'))).rejects.toThrow()
  })
})
