/**
 * The action with `mirror`, as the runner runs it: a config file in the workspace, the `mirrored`
 * output, a log group per pair, the job summary, shards of a job matrix, dry runs and failures.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../testbed/action.js'
import { image, index, listTags, pushFixture } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools } from '../testbed/tools.js'
import type { MirroredObject } from '../src/engine/mirror.js'

let a: TestRegistry
let b: TestRegistry
/** Needs a login that the test never gives: its tag list is refused. */
let locked: TestRegistry
let workspace: string

const app = {
  '1.0.0': image({ seed: 'action-mirror-app-1.0.0' }),
  '1.1.0': index([
    image({ seed: 'action-mirror-app-1.1.0-amd64' }),
    image({ seed: 'action-mirror-app-1.1.0-arm64', architecture: 'arm64' })
  ])
}
const tool = image({ seed: 'action-mirror-tool', layers: 1 })

beforeAll(async () => {
  await requireTools(['docker-registry'])
  ;[a, b, locked] = await Promise.all([
    startRegistry(),
    startRegistry(),
    startRegistry({ htpasswd: { username: 'u', password: 'p-0123456789' } })
  ])
  for (const [tag, fixture] of Object.entries(app)) await pushFixture(a.host, 'lib/app', fixture, tag)
  await pushFixture(a.host, 'lib/tool', tool, 'v1')
  workspace = await mkdtemp(join(tmpdir(), 'oci-push-mirror-workspace-'))
}, 60_000)

afterAll(async () => {
  await Promise.all([a, b, locked].map((r) => r?.stop()))
  if (workspace) await rm(workspace, { recursive: true, force: true })
})

/** A config of two entries, into repositories under `prefix` at b. */
function config(prefix: string): string {
  return `mirrors:
  - source: ${a.host}/lib/app
    destination: ${b.host}/${prefix}/app
    tags: { semver: ">=1" }
  - source: ${a.host}/lib/tool:v1
    destination: ${b.host}/${prefix}/tool
`
}

/** Runs the action on a config written to the workspace as `name`. */
async function mirror(name: string, text: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
  await writeFile(join(workspace, name), text)
  return runAction({ mirror: name, ...inputs }, { GITHUB_WORKSPACE: workspace })
}

const errorLines = (run: ActionRun) => run.stdout.split('\n').filter((line) => line.startsWith('::error'))
const groupTitles = (run: ActionRun) =>
  run.stdout
    .split('\n')
    .filter((line) => line.startsWith('::group::'))
    .map((line) => line.slice('::group::'.length))
    .sort()

const mirrored = (run: ActionRun) => (JSON.parse(run.outputs.mirrored) as MirroredObject[]).sort((x, y) => x.source.localeCompare(y.source))

describe('mirror in the action', () => {
  test('a file of two entries: every pair copied, the mirrored output, a group per pair, the summary; a re-run skips all', async () => {
    const run = await mirror('two.yml', config('two'))
    expect(errorLines(run)).toEqual([])
    expect(run.exitCode).toBe(0)
    const rows = mirrored(run)
    expect(rows.map(({ bytes, ...rest }) => [rest, bytes > 0])).toEqual([
      [
        { source: `${a.host}/lib/app:1.0.0`, destination: `${b.host}/two/app:1.0.0`, digest: app['1.0.0'].root.digest, status: 'copied' },
        true
      ],
      [
        { source: `${a.host}/lib/app:1.1.0`, destination: `${b.host}/two/app:1.1.0`, digest: app['1.1.0'].root.digest, status: 'copied' },
        true
      ],
      [{ source: `${a.host}/lib/tool:v1`, destination: `${b.host}/two/tool:v1`, digest: tool.root.digest, status: 'copied' }, true]
    ])
    for (const row of rows) expect(Object.keys(row)).toEqual(['source', 'destination', 'digest', 'status', 'bytes'])
    expect(await listTags(b.host, 'two/app')).toEqual(['1.0.0', '1.1.0'])
    expect(await listTags(b.host, 'two/tool')).toEqual(['v1'])
    expect(groupTitles(run)).toEqual([
      `${a.host}/lib/app:1.0.0 → ${b.host}/two/app:1.0.0: copied`,
      `${a.host}/lib/app:1.1.0 → ${b.host}/two/app:1.1.0: copied`,
      `${a.host}/lib/tool:v1 → ${b.host}/two/tool:v1: copied`
    ])
    expect(run.outputs.digest).toBe('')
    expect(run.summary).toMatch(/^### oci-push mirror\n/)
    expect(run.summary).toContain('| Mirror config |\n|---|\n| two.yml, 2 entries |')
    expect(run.summary).toMatch(/\| all \(not sharded\) \| 3 \| 0 \| 0 \| 0 \| 0 \| [0-9.]+ KiB \| [0-9.]+ s \|/)
    expect(run.summary).toContain(`| ${a.host}/lib/tool:v1 | ${b.host}/two/tool:v1 | ${tool.root.digest} |`)

    const again = await mirror('two.yml', config('two'))
    expect(again.exitCode).toBe(0)
    expect(mirrored(again).map((r) => [r.status, r.bytes])).toEqual([
      ['skipped', 0],
      ['skipped', 0],
      ['skipped', 0]
    ])
    expect(groupTitles(again).every((title) => title.endsWith(': up to date'))).toBe(true)
    expect(again.summary).toMatch(/\| all \(not sharded\) \| 0 \| 3 \| 0 \| 0 \| 0 \| 0 B \|/)
  })

  test('two shards of a job matrix cover every pair once', async () => {
    const [first, second] = await Promise.all(['0/2', '1/2'].map((shard) => mirror('sharded.yml', config('sharded'), { shard })))
    expect([first.exitCode, second.exitCode]).toEqual([0, 0])
    const pairs = [...mirrored(first), ...mirrored(second)].map((r) => r.destination).sort()
    expect(pairs).toEqual([`${b.host}/sharded/app:1.0.0`, `${b.host}/sharded/app:1.1.0`, `${b.host}/sharded/tool:v1`])
    expect(first.summary).toContain('| 0/2 |')
    expect(second.summary).toContain('| 1/2 |')
  })

  test('dryRun: every pair planned with its digest, nothing written', async () => {
    const run = await mirror('planned.yml', config('planned'), { dryRun: 'true' })
    expect(run.exitCode).toBe(0)
    expect(mirrored(run).map((r) => [r.status, r.digest])).toEqual([
      ['planned', app['1.0.0'].root.digest],
      ['planned', app['1.1.0'].root.digest],
      ['planned', tool.root.digest]
    ])
    expect(await listTags(b.host, 'planned/app')).toEqual([])
    expect(await listTags(b.host, 'planned/tool')).toEqual([])
    expect(run.summary).toContain('### oci-push mirror: dry run, nothing written')
    expect(run.summary).toMatch(/\| all \(not sharded\) \| 0 \| 0 \| 0 \| 0 \| 3 \|/)
    expect(run.summary).toContain('#### Would copy')
  })

  test('a failing pair and a failing entry leave the others done; the step fails naming each, and the summary lists them', async () => {
    const text = `${config('partly')}  - source: ${a.host}/lib/app:9.9.9
    destination: ${b.host}/partly/missing
  - source: ${locked.host}/lib/locked
    destination: ${b.host}/partly/locked
    tags: { allow: ['.*'] }
`
    const run = await mirror('partly.yml', text)
    expect(run.exitCode).toBe(1)
    expect(await listTags(b.host, 'partly/app')).toEqual(['1.0.0', '1.1.0'])
    expect(await listTags(b.host, 'partly/tool')).toEqual(['v1'])
    const errors = errorLines(run)
    expect(errors).toHaveLength(1)
    const message = decodeURIComponent(errors[0].replace(/%0A/g, '\n')).split('\n')
    expect(message[0]).toBe('::error::mirror: 2 failed:')
    expect(message.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^entry 4 \\(${locked.host}/lib/locked\\) → ${b.host}/partly/locked: .*401`)),
      expect.stringMatching(new RegExp(`^${a.host}/lib/app:9\\.9\\.9 → ${b.host}/partly/missing:9\\.9\\.9: .*404`))
    ])
    const rows = mirrored(run)
    expect(rows.filter((r) => r.status === 'copied')).toHaveLength(3)
    // The pair that failed, and the entry whose tags could not be read: both in `mirrored`.
    expect(rows.filter((r) => r.status === 'failed')).toEqual(
      expect.arrayContaining([
        {
          source: `${a.host}/lib/app:9.9.9`,
          destination: `${b.host}/partly/missing:9.9.9`,
          digest: '',
          status: 'failed',
          bytes: 0,
          error: expect.stringMatching(/404 MANIFEST_UNKNOWN/)
        },
        {
          source: `${locked.host}/lib/locked`,
          destination: `${b.host}/partly/locked`,
          digest: '',
          status: 'failed',
          bytes: 0,
          // The action's words: its inputs, docker/login-action.
          error: expect.stringMatching(
            /401 UNAUTHORIZED.*set srcUsername and srcPassword, or log in to it in an earlier step \(docker\/login-action\)/
          )
        }
      ])
    )
    expect(rows).toHaveLength(5)
    expect(run.summary).toMatch(/\| all \(not sharded\) \| 3 \| 0 \| 0 \| 2 \| 0 \|/)
    expect(run.summary).toContain('#### Failures')
    expect(run.summary).toContain(`| ${a.host}/lib/app:9.9.9 | ${b.host}/partly/missing:9.9.9 |`)
    expect(run.summary).toContain(`| entry 4 (${locked.host}/lib/locked) | ${b.host}/partly/locked |`)
    expect(groupTitles(run)).toContain(`${a.host}/lib/app:9.9.9 → ${b.host}/partly/missing:9.9.9: failed`)
  })
})
