/**
 * The action as the runner runs it, with RUNNER_TEMP set: the gzip'd layers of a docker save that
 * cannot stream into their upload are spooled there, and nothing is left behind when the action ends, whether the push succeeded or
 * the destination refused it.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../testbed/action.js'
import { fastNoise, sha256 } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { writeTar } from '../testbed/tarballs.js'
import { requireTools, skopeoPullAll } from '../testbed/tools.js'

let open: TestRegistry
/** Refuses every upload from us: it wants credentials we do not give. */
let locked: TestRegistry
let dir: string
let save: string

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo', 'htpasswd'])
  open = await startRegistry()
  locked = await startRegistry({ htpasswd: { username: 'someone', password: 'secret' } })
  dir = await mkdtemp(join(tmpdir(), 'oci-push-spool-action-'))
  const layers = [Buffer.from('etc/hostname\n'.repeat(50_000)), fastNoise('spool-action', 3 * 1024 * 1024)]
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } })
  )
  save = join(dir, 'save.tar')
  await writeTar(save, [
    ...layers.map((body, i) => ({ name: `l${i}/layer.tar`, body })),
    { name: 'config.json', body: config },
    {
      name: 'manifest.json',
      body: JSON.stringify([{ Config: 'config.json', RepoTags: ['spool/app:v1'], Layers: ['l0/layer.tar', 'l1/layer.tar'] }])
    }
  ])
}, 60_000)

afterAll(async () => {
  await open?.stop()
  await locked?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const errors = (result: ActionRun) => result.stdout.split('\n').filter((l) => l.startsWith('::error'))

test('a docker save pushed: nothing left in RUNNER_TEMP', async () => {
  const runnerTemp = await mkdtemp(join(dir, 'runner-temp-'))
  const result = await runAction({ archive: save, destRef: `${open.host}/spool/app` }, { RUNNER_TEMP: runnerTemp })
  expect(errors(result)).toEqual([])
  expect(result.outputs.image).toBe(`${open.host}/spool/app:v1`)
  expect(await readdir(runnerTemp)).toEqual([])
  await skopeoPullAll(`${open.host}/spool/app:v1`)
})

test('a destination that refuses the upload: the push fails, and nothing is left in RUNNER_TEMP', async () => {
  const runnerTemp = await mkdtemp(join(dir, 'runner-temp-'))
  const result = await runAction({ archive: save, destRef: `${locked.host}/spool/app` }, { RUNNER_TEMP: runnerTemp })
  expect(result.exitCode).toBe(1)
  expect(errors(result)).toEqual([expect.stringMatching(/^::error::.*401/)])
  expect(await readdir(runnerTemp)).toEqual([])
})

test('RUNNER_TEMP is where the layers go when they cannot stream into their upload: one that does not exist fails the step, named', async () => {
  const missing = join(dir, 'no-such-runner-temp')
  // A dry run measures every layer before anything (it uploads none), so it spools them all.
  const result = await runAction({ archive: save, destRef: `${open.host}/spool/missing`, dryRun: 'true' }, { RUNNER_TEMP: missing })
  expect(result.exitCode).toBe(1)
  expect(errors(result)).toEqual([expect.stringMatching(new RegExp(`^::error::temporary directory ${missing}: cannot make a directory`))])
})

test('a push that streams every layer into its upload needs no RUNNER_TEMP at all', async () => {
  const missing = join(dir, 'no-such-runner-temp')
  const result = await runAction({ archive: save, destRef: `${open.host}/spool/streamed` }, { RUNNER_TEMP: missing })
  expect(errors(result)).toEqual([])
  await skopeoPullAll(`${open.host}/spool/streamed:v1`)
})
