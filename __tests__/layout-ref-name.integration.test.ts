/**
 * What a layout reader finds under `DIR:v1` after an export (issue 23 §5): exactly one index.json
 * entry carries the tag, whatever names the layout held before, and umoci, skopeo and our own
 * reader open it.
 *
 * umoci (0.4.x) resolves a tag down to image manifests (casext.ResolveReference walks into an
 * index and counts every image below it), so a multi-platform index under one tag is "ambiguous"
 * to `umoci stat` however index.json is written: skopeo's own `--all` export gets the same answer.
 * The tests hold our layouts to skopeo's there, and to umoci's success wherever the tag names one
 * image.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { entryName } from '../src/layout/entries.js'
import { OciLayout, REF_NAME } from '../src/layout/oci-layout.js'
import { image, index, pushFixture } from '../testbed/fixtures.js'
import { skopeoExport } from '../testbed/layouts.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, run } from '../testbed/tools.js'
import { copy } from './helpers/copy.js'

interface IndexEntry {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
}

let registry: TestRegistry
let dir: string
const amd64 = image({ seed: 'ref-name-amd64' })
const multi = index([amd64, image({ seed: 'ref-name-arm64', architecture: 'arm64' })])

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo', 'umoci'])
  registry = await startRegistry()
  dir = await mkdtemp(join(tmpdir(), 'oci-push-ref-name-'))
  await pushFixture(registry.host, 'multi/app', multi, 'v1')
}, 60_000)

afterAll(async () => {
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const entries = async (layout: string) =>
  (JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: IndexEntry[] }).manifests
/** The entries carrying `tag` in the spec's annotation (what umoci and skopeo look for). */
const refNamed = async (layout: string, tag: string) => (await entries(layout)).filter((e) => e.annotations?.[REF_NAME] === tag)

/** `umoci stat --image DIR:tag`: its output, or its error with the layout's path taken out (to compare two layouts). */
async function umociStat(layout: string, tag: string): Promise<{ ok: boolean; text: string }> {
  try {
    return { ok: true, text: await run('umoci', ['stat', '--json', '--image', `${layout}:${tag}`]) }
  } catch (error) {
    return { ok: false, text: (error as Error).message.replaceAll(layout, 'LAYOUT') }
  }
}

describe('a multi-arch index exported under v1', () => {
  test('one index.json entry carries v1, the index itself; skopeo and our reader open it; umoci answers as for skopeo’s own export', async () => {
    const ours = join(dir, 'multi')
    await copy(`${registry.host}/multi/app:v1`, `${ours}:v1`)
    const named = await refNamed(ours, 'v1')
    expect(named).toHaveLength(1)
    expect(named[0]).toMatchObject({ digest: multi.root.digest, mediaType: 'application/vnd.oci.image.index.v1+json' })
    // No child of the index is listed, named or not: the tag reaches them through the index.
    expect((await entries(ours)).map((e) => e.digest)).toEqual([multi.root.digest])
    expect((await new OciLayout(ours).resolve('v1')).digest).toBe(multi.root.digest)
    expect(await run('skopeo', ['inspect', '--raw', `oci:${ours}:v1`])).toBe(multi.root.bytes.toString())

    const skopeos = join(dir, 'multi-by-skopeo')
    await skopeoExport(`${registry.host}/multi/app:v1`, `oci:${skopeos}:v1`)
    expect(await entries(ours)).toEqual(await entries(skopeos))
    expect(await umociStat(ours, 'v1')).toEqual(await umociStat(skopeos, 'v1'))
  })

  test('v1 moved to one platform’s image in the same layout: still one entry named v1, and umoci stat opens it', async () => {
    const out = join(dir, 'moved')
    await copy(`${registry.host}/multi/app:v1`, `${out}:v1`)
    await copy(`${registry.host}/multi/app@${amd64.root.digest}`, `${out}:v1`)
    expect((await refNamed(out, 'v1')).map((e) => e.digest)).toEqual([amd64.root.digest])
    const stat = await umociStat(out, 'v1')
    expect(stat).toMatchObject({ ok: true })
    // Its report on the image (the fixture's config has no history to list).
    expect(JSON.parse(stat.text)).toEqual({ history: null })
  })
})

describe('a layout that already names v1 another way', () => {
  test('an entry named v1 only by containerd’s image name is replaced: our reader and umoci each find one v1', async () => {
    const out = join(dir, 'containerd-named')
    await copy(`${registry.host}/multi/app:v1`, `${out}:old`)
    // As `ctr export` or a Docker save names an image: no ref.name, the tag inside io.containerd.image.name.
    const [old] = await entries(out)
    await writeFile(
      join(out, 'index.json'),
      JSON.stringify({ schemaVersion: 2, manifests: [{ ...old, annotations: { 'io.containerd.image.name': 'docker.io/library/app:v1' } }] })
    )
    expect((await new OciLayout(out).resolve('v1')).digest).toBe(multi.root.digest)

    await copy(`${registry.host}/multi/app@${amd64.root.digest}`, `${out}:v1`)
    const all = await entries(out)
    expect(all.filter((e) => entryName(e) === 'v1').map((e) => e.digest)).toEqual([amd64.root.digest])
    expect((await refNamed(out, 'v1')).map((e) => e.digest)).toEqual([amd64.root.digest])
    expect((await new OciLayout(out).resolve('v1')).digest).toBe(amd64.root.digest)
    expect(await umociStat(out, 'v1')).toMatchObject({ ok: true })
  })
})
