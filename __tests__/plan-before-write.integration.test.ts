/**
 * A step plans everything, then writes (issue 23 §2): every archive of a glob is opened and every
 * copy planned before the first write, so a mistake in any of them fails the step with nothing
 * written; an archive pushed under a prefix on a registry that needs a login gets the login.
 * Run as the runner runs the action, against a real `docker-registry` and its access log.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction } from '../testbed/action.js'
import { runCli } from '../testbed/cli.js'
import { registryError, startProxy, type RecordingProxy } from '../testbed/proxy.js'
import { image, listTags, pushFixture, type Fixture } from '../testbed/fixtures.js'
import { writes } from '../testbed/hostile.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { writeTar, type TarItem } from '../testbed/tarballs.js'
import { requireTools } from '../testbed/tools.js'

const login = { username: 'pusher', password: 'p-plan-0123' }
let registry: TestRegistry
/** The same registry, refusing the tag PUT of the repository second/app: a failure after a write. */
let refusing: RecordingProxy
let dir: string

const named = image({ seed: 'plan-named' })
const unnamed = image({ seed: 'plan-unnamed' })

/** An OCI layout tarball holding `fixture`, its index entry carrying `annotations`. */
function layoutItems(fixture: Fixture, annotations: Record<string, string>): TarItem[] {
  const entry = { mediaType: fixture.root.mediaType, digest: fixture.root.digest, size: fixture.root.size, annotations }
  return [
    { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests: [entry] }) },
    ...[...fixture.blobs, fixture.root].map((b) => ({ name: `blobs/sha256/${b.digest.slice('sha256:'.length)}`, body: b.bytes }))
  ]
}

beforeAll(async () => {
  await requireTools(['docker-registry'])
  registry = await startRegistry({ htpasswd: login, accessLog: true })
  refusing = await startProxy(registry.port)
  refusing.faults.answer = (r) =>
    r.method === 'PUT' && /\/second\/app\/manifests\/v1$/.test(r.path)
      ? registryError(403, 'DENIED', 'requested access to the resource is denied')
      : undefined
  await pushFixture(registry.host, 'src/app', named, 'v1', { credentials: login })
  dir = await mkdtemp(join(tmpdir(), 'oci-push-plan-'))
}, 60_000)

afterAll(async () => {
  await refusing?.stop()
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

beforeEach(() => registry.clearAccessLog())

describe('plan everything, then write', () => {
  test('an archive glob whose second archive cannot go under the prefix: the step fails with nothing written', async () => {
    const glob = join(dir, 'glob')
    await mkdir(glob)
    // Sorted by name: the good one comes first, and used to be pushed before the other failed.
    await writeTar(join(glob, 'a-named.tar'), layoutItems(named, { 'io.containerd.image.name': 'docker.io/team/app:v1' }))
    await writeTar(join(glob, 'b-unnamed.tar'), layoutItems(unnamed, {}))
    const run = await runAction({ archive: join(glob, '*.tar'), destRef: `${registry.host}/org/`, ...login })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('has no repository name to put under it')
    expect(writes(await registry.accessLog())).toEqual([])
    expect(await listTags(registry.host, 'org/team/app', { credentials: login })).toEqual([])
  })

  test('an archive pushed under a prefix on a registry that needs a login gets the destination login', async () => {
    const path = join(dir, 'prefixed.tar')
    await writeTar(path, layoutItems(named, { 'io.containerd.image.name': 'docker.io/team/app:v1' }))
    const run = await runAction({ archive: path, destRef: `${registry.host}/org/`, ...login })
    expect(run.stdout.split('\n').filter((line) => line.startsWith('::error'))).toEqual([])
    expect(run.exitCode).toBe(0)
    expect(await listTags(registry.host, 'org/team/app', { credentials: login })).toEqual(['v1'])
  })
})

describe('a step that fails after writing says what it wrote', () => {
  const destinations = () => `${refusing.host}/first/app:v1\n${refusing.host}/second/app:v1`

  test('the action: outputs list the reference written, the summary says so, the step fails', async () => {
    const run = await runAction({ srcRef: `${refusing.host}/src/app:v1`, destRef: destinations(), ...login })
    expect(run.exitCode).toBe(1)
    expect(run.outputs.image).toBe(`${refusing.host}/first/app:v1`)
    expect(run.outputs.digest).toBe(named.root.digest)
    expect(JSON.parse(run.outputs.pushed)).toEqual([
      { ref: `${refusing.host}/first/app:v1`, digest: named.root.digest, mediaType: named.root.mediaType, size: named.root.size }
    ])
    expect(run.summary).toContain('Written before the failure')
  })

  test('the CLI: --json prints the error and what was written', async () => {
    const run = await runCli(
      [
        'copy',
        `${refusing.host}/src/app:v1`,
        `${refusing.host}/first/app:v1`,
        `${refusing.host}/second/app:v1`,
        '--username',
        login.username,
        '--password-stdin',
        '--json'
      ],
      { stdin: login.password }
    )
    expect(run.exitCode).toBe(1)
    const result = JSON.parse(run.stdout) as { error: string; pushed: Array<{ ref: string }>; image: string }
    expect(result.error).toContain('403 DENIED')
    expect(result.pushed.map((p) => p.ref)).toEqual([`${refusing.host}/first/app:v1`])
    expect(result.image).toBe(`${refusing.host}/first/app:v1`)
  })

  test('the CLI: --json on a bad command line is a JSON error too', async () => {
    const run = await runCli(['copy', `${refusing.host}/src/app:v1`, `${refusing.host}/x/app:v1`, '--max-size', 'lots', '--json'])
    expect(run.exitCode).toBe(2)
    expect(JSON.parse(run.stdout)).toEqual({ error: expect.stringMatching(/^--max-size: "lots" is not a size/) })
  })
})

describe('an archive of several images and a tagged destination', () => {
  test('the error counts and describes what is there (platforms from the configs), and its advice works', async () => {
    const amd = image({ seed: 'plan-many-amd64' })
    const arm = image({ seed: 'plan-many-arm64', architecture: 'arm64' })
    const ppc = image({ seed: 'plan-many-ppc64le', architecture: 'ppc64le' })
    const entry = (f: Fixture, name: string) => ({
      mediaType: f.root.mediaType,
      digest: f.root.digest,
      size: f.root.size,
      annotations: { 'org.opencontainers.image.ref.name': name }
    })
    // Four entries, three images: arm64 is there under two names. No entry says its platform.
    const manifests = [entry(amd, 'amd'), entry(arm, 'arm'), entry(arm, 'arm-again'), entry(ppc, 'ppc')]
    const path = join(dir, 'many.tar')
    await writeTar(path, [
      { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests }) },
      ...[amd, arm, ppc]
        .flatMap((f) => [...f.blobs, f.root])
        .map((b) => ({ name: `blobs/sha256/${b.digest.slice('sha256:'.length)}`, body: b.bytes }))
    ])
    const run = await runAction({ archive: path, destRef: `${registry.host}/many/app:v1`, ...login })
    expect(run.exitCode).toBe(1)
    const error = run.stdout.split('\n').find((line) => line.startsWith('::error::')) ?? ''
    expect(error).toContain('holds 3:')
    expect(error.match(/sha256:[0-9a-f]{64} /g)).toHaveLength(3)
    for (const platform of ['linux/amd64', 'linux/arm64', 'linux/ppc64le']) expect(error).toContain(platform)
    expect(error).toContain('(arm, arm-again)')
    expect(error).not.toContain('unknown')
    expect(error).toContain('choose one with platforms')
    // The advice, followed.
    const chosen = await runAction({ archive: path, destRef: `${registry.host}/many/app:v1`, platforms: 'linux/arm64', ...login })
    expect(chosen.stdout.split('\n').filter((line) => line.startsWith('::error'))).toEqual([])
    expect(chosen.outputs.digest).toBe(arm.root.digest)
  })
})
