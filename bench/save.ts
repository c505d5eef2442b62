/**
 * Legacy `docker save` tarballs (uncompressed layers) pushed to a registry, against skopeo's
 * `docker-archive:`: one of incompressible noise, and one of this machine's own files, whose
 * layers compress as an image's do — there the size of what is pushed counts beside the time.
 */
import { stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { rawManifest } from '../testbed/fixtures.js'
import { type Bench, besideNode24, FEW, NODE24_NOTE, node24Samples, onBothNodes, record, RSS_MiB, rssFigure } from './context.js'
import { cachedDockerSaveOf, MiB, writeDockerSave } from './fixtures.js'
import { copyArgs, ours, rounds, rss, seconds, skopeo, spread, type Sample } from './measure.js'

/** Ours ÷ skopeo's time, on both Nodes. */
const TIME_RATIO = 0.9
/** Ours ÷ skopeo's bytes pushed (the compressed layers). */
const SIZE_RATIO = 1.1
/** The real files: what a Debian image's layers hold, ~600 MB. */
const DIRECTORIES = ['/usr/bin', '/usr/share/locale', '/usr/share/doc']
/** Where the real-files tarball is kept between runs (BENCH_CACHE=dir). */
const CACHE = resolve(process.env.BENCH_CACHE ?? '.build/bench-cache')

/** Our push of `archive` into `<scenario>/<runner's key>-<round>`: a new repository every time. */
const push = (bench: Bench, archive: string, scenario: string) => (node: string, key: string) => (round: number) =>
  ours({ archive, destRef: `${bench.open.host}/${scenario}/${key}-${round}`, maxArtifactSize: '-1' }, {}, node)

const skopeoPush = (bench: Bench, archive: string, repository: string) => (round: number) =>
  skopeo(copyArgs(`docker-archive:${archive}`, `docker://${bench.open.host}/${repository}-${round}:v1`))

/** Ours ÷ skopeo's median time, on Node 20 and on Node 24 where it ran. */
function timeRatios(s: Record<string, Sample[]>): number[] {
  return ['ours', 'ours24'].filter((key) => s[key]).map((key) => seconds(s[key]) / seconds(s.skopeo))
}

const ratioText = (s: Record<string, Sample[]>) => besideNode24(s, 'ours', (x) => `${(seconds(x) / seconds(s.skopeo)).toFixed(2)}×`)

/** 4. 321 MiB of noise; peak RSS on Node 24 also at 3 × 1 KiB and at 1 GiB (flat in size). */
export async function dockerSave(bench: Bench): Promise<void> {
  const path = join(bench.work, 'big.docker.tar')
  const tiny = join(bench.work, 'tiny.docker.tar')
  const huge = join(bench.work, 'huge.docker.tar')
  await writeDockerSave(path, [1 * MiB, 64 * MiB, 256 * MiB])
  const s = await rounds<string>(FEW, {
    ...onBothNodes('ours', push(bench, path, 's4')),
    skopeo: skopeoPush(bench, path, 's4/skopeo')
  })
  const ratios = timeRatios(s)
  record({
    scenario: '4 321 MiB docker save (uncompressed noise) → registry',
    figure: `${ratioText(s)} skopeo's time`,
    goal: `≤ ${TIME_RATIO}×`,
    met: Math.max(...ratios) <= TIME_RATIO,
    details: `ours ${besideNode24(s, 'ours', spread)}, skopeo ${spread(s.skopeo)}; peak RSS ours ${besideNode24(s, 'ours', (x) => `${rss(x).toFixed(0)} MiB`)}, skopeo ${rss(s.skopeo).toFixed(0)} MiB`
  })
  await writeDockerSave(tiny, [1024, 1024, 1024])
  await writeDockerSave(huge, [1 * MiB, 128 * MiB, 896 * MiB])
  const sizes = await rounds<string>(Math.min(FEW, 3), {
    ...onBothNodes('tiny', push(bench, tiny, 's4')),
    ...onBothNodes('huge', push(bench, huge, 's4'))
  })
  rssFigure('4 peak RSS of that push', { ...s, ...sizes }, { at321: 'ours', at1GiB: 'huge', at1KiB: 'tiny' })
}

/** The compressed layers' bytes of the image pushed at `repository:v1` (config and manifest left out). */
async function pushedBytes(host: string, repository: string): Promise<number> {
  const manifest = JSON.parse(await rawManifest(host, repository, 'v1')) as { layers: Array<{ size: number }> }
  return manifest.layers.reduce((sum, layer) => sum + layer.size, 0)
}

/** 4b. This machine's /usr/bin, /usr/share/locale and /usr/share/doc as a docker save: time, and bytes pushed. */
export async function dockerSaveOfFiles(bench: Bench): Promise<void> {
  const path = join(CACHE, 'usr-files.docker.tar')
  await cachedDockerSaveOf(path, DIRECTORIES)
  const s = await rounds<string>(FEW, {
    ...onBothNodes('ours', push(bench, path, 's4b')),
    skopeo: skopeoPush(bench, path, 's4b/skopeo')
  })
  const host = bench.open.host
  const [ourBytes, theirBytes] = await Promise.all([pushedBytes(host, 's4b/ours-0'), pushedBytes(host, 's4b/skopeo-0')])
  const ratios = timeRatios(s)
  const size = ourBytes / theirBytes
  const rss24 = rss(node24Samples(s, 'ours'))
  const tarball = (await stat(path)).size
  record({
    scenario: `4b docker save of real files (${DIRECTORIES.join(', ')}) → registry`,
    figure: `${ratioText(s)} skopeo's time; ${size.toFixed(2)}× its bytes; Node 24 peak RSS ${rss24.toFixed(0)} MiB${NODE24_NOTE}`,
    goal: `≤ ${TIME_RATIO}× the time, ≤ ${SIZE_RATIO}× the bytes, ≤ ${RSS_MiB} MiB`,
    met: Math.max(...ratios) <= TIME_RATIO && size <= SIZE_RATIO && rss24 <= RSS_MiB,
    details: `ours ${besideNode24(s, 'ours', spread)}, skopeo ${spread(s.skopeo)}; layers pushed ours ${(ourBytes / MiB).toFixed(1)} MiB, skopeo ${(theirBytes / MiB).toFixed(1)} MiB, uncompressed ${(tarball / MiB).toFixed(0)} MiB; peak RSS ours ${besideNode24(s, 'ours', (x) => `${rss(x).toFixed(0)} MiB`)}, skopeo ${rss(s.skopeo).toFixed(0)} MiB; the tarball ${path}`
  })
}
