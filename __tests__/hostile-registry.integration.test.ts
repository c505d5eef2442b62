/**
 * A registry is untrusted input (issue 21, DESIGN §7), tried as the runner runs the action: a
 * source registry (the recording proxy in front of a real `docker-registry`) that serves tag lists,
 * indexes, headers and error bodies chosen to attack, and a destination reached with Basic auth,
 * as ECR, Artifactory and htpasswd registries are. Each test checks what the destination's own
 * access log saw and what the step printed where the runner reads commands.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../testbed/action.js'
import { image, index, listTags, pushFixture } from '../testbed/fixtures.js'
import {
  injectedCommands,
  isTagList,
  outsideRepository,
  PAGINATION_REFUSED,
  pageSizeOf,
  tagListAnswer,
  writes
} from '../testbed/hostile.js'
import { registryError, startProxy, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools } from '../testbed/tools.js'

const login = { username: 'mirror', password: 'p-hostile-0123' }

let source: TestRegistry
/** The hostile registry: the source as the action sees it. */
let hostile: RecordingProxy
let destination: TestRegistry
/** The destination behind a proxy, for error bodies it chooses. */
let strict: RecordingProxy
let workspace: string

const app = image({ seed: 'hostile-app-v1' })
const evil = image({ seed: 'hostile-evil' })
const victim = image({ seed: 'hostile-victim' })
const fanChild = image({ seed: 'hostile-fan-child' })
// Seeded once: the index names the child 5,000 times, its children and blobs are there once.
const fanOut = { ...index(Array.from({ length: 5000 }, () => fanChild)), children: [fanChild.root], blobs: fanChild.blobs }

beforeAll(async () => {
  await requireTools(['docker-registry'])
  ;[source, destination] = await Promise.all([startRegistry(), startRegistry({ htpasswd: login, accessLog: true })])
  ;[hostile, strict] = await Promise.all([startProxy(source.port), startProxy(destination.port)])
  await pushFixture(source.host, 'lib/app', app, 'v1')
  await pushFixture(source.host, 'lib/app', app, 'v2')
  // What a `../../../victim/manifests/latest` tag reaches at the source once a URL resolves it.
  await pushFixture(source.host, 'victim', evil, 'latest')
  await pushFixture(source.host, 'lib/fan', fanOut, 'v1')
  // The repository another team owns at the destination: it must never move.
  await pushFixture(destination.host, 'victim', victim, 'latest', { credentials: login })
  workspace = await mkdtemp(join(tmpdir(), 'oci-push-hostile-'))
}, 120_000)

afterAll(async () => {
  await Promise.all([hostile?.stop(), strict?.stop()])
  await Promise.all([source?.stop(), destination?.stop()])
  if (workspace) await rm(workspace, { recursive: true, force: true })
})

beforeEach(() => {
  hostile.reset()
  strict.reset()
  destination.clearAccessLog()
})

/** Runs the action's mirror on `config`, into the destination with Basic auth. */
async function mirror(config: string, inputs: Record<string, string> = {}, env: Record<string, string> = {}): Promise<ActionRun> {
  const name = `mirror-${Math.random().toString(36).slice(2)}.yml`
  await writeFile(join(workspace, name), config)
  return runAction({ mirror: name, ...login, ...inputs }, { GITHUB_WORKSPACE: workspace, ...env })
}

/** What the other team's tag holds, read after the access log was (this request is logged too). */
async function victimDigest(): Promise<string | null> {
  const basic = Buffer.from(`${login.username}:${login.password}`).toString('base64')
  const res = await fetch(`http://${destination.host}/v2/victim/manifests/latest`, {
    method: 'HEAD',
    headers: { authorization: `Basic ${basic}`, accept: victim.root.mediaType }
  })
  return res.headers.get('docker-content-digest')
}

describe('names a registry lists are checked before they are used', () => {
  test('a tag list holding a path, a newline and workflow commands: those names dropped with one warning, nothing outside the repository touched', async () => {
    const attack = [
      'v1',
      '../../../victim/manifests/latest',
      'v2\n::error title=pwned::owned',
      '::set-output name=digest::sha256:0',
      'v1%2F..'
    ]
    hostile.faults.answer = (request) => (isTagList(request, 'lib/app') ? tagListAnswer('lib/app', attack) : undefined)
    const run = await mirror(
      `mirrors:\n  - source: ${hostile.host}/lib/app\n    destination: ${destination.host}/mirror/app\n    tags: { allow: ['.*'] }\n`
    )

    expect(run.exitCode).toBe(0)
    expect(injectedCommands(run.stdout)).toEqual([])
    const warnings = run.stdout.split('\n').filter((line) => line.startsWith('::warning::'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('listed 4 names that are not tags')
    expect(warnings[0]).toContain('"../../../victim/manifests/latest"')
    // The source was asked for nothing outside the repository either.
    expect(hostile.requests.filter((r) => !r.path.startsWith('/v2/lib/app/') && r.path !== '/v2/')).toEqual([])
    const log = await destination.accessLog()
    expect(outsideRepository(log, 'mirror/app')).toEqual([])
    expect(await victimDigest()).toBe(victim.root.digest)
    expect(await listTags(destination.host, 'mirror/app', { credentials: login })).toEqual(['v1'])
    expect(JSON.parse(run.outputs.mirrored) as unknown[]).toHaveLength(1)
  })

  test('a Link to another repository’s list is refused: the entry fails, the other list never read', async () => {
    hostile.faults.answer = (request) =>
      isTagList(request, 'lib/app') ? tagListAnswer('lib/app', ['v1'], '</v2/victim/tags/list?n=1000>; rel="next"') : undefined
    const run = await mirror(
      `mirrors:\n  - source: ${hostile.host}/lib/app\n    destination: ${destination.host}/mirror/link\n    tags: { allow: ['.*'] }\n`
    )

    expect(run.exitCode).toBe(1)
    expect(run.stdout).toMatch(/outside 127\.0\.0\.1:\d+\/lib\/app's tag list/)
    expect(hostile.requests.filter((r) => r.path.includes('/victim/'))).toEqual([])
    expect(writes(await destination.accessLog())).toEqual([])
  })

  test('a name with a path from an archive (RepoTags, ref.name) never becomes a destination: the step fails, nothing written', async () => {
    const { writeTar } = await import('../testbed/tarballs.js')
    const path = join(workspace, 'named.tar')
    const entry = {
      mediaType: app.root.mediaType,
      digest: app.root.digest,
      size: app.root.size,
      annotations: { 'io.containerd.image.name': 'docker.io/../../victim:latest', 'org.opencontainers.image.ref.name': 'latest' }
    }
    await writeTar(path, [
      { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests: [entry] }) },
      ...[...app.blobs, app.root].map((b) => ({ name: `blobs/sha256/${b.digest.slice(7)}`, body: b.bytes }))
    ])
    const run = await runAction({ archive: path, destRef: `${destination.host}/team/`, ...login })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain("does not follow the spec's grammar")
    expect(writes(await destination.accessLog())).toEqual([])
    expect(await victimDigest()).toBe(victim.root.digest)
  })
})

describe('bounded work whatever the registry says', () => {
  test('a page of 150,000 tags ends in the limit’s own error, not a stack overflow', async () => {
    const many = Array.from({ length: 150_000 }, (_, i) => `t${i}`)
    hostile.faults.answer = (request) => (isTagList(request, 'lib/app') ? tagListAnswer('lib/app', many) : undefined)
    const run = await mirror(
      `mirrors:\n  - source: ${hostile.host}/lib/app\n    destination: ${destination.host}/mirror/many\n    tags: { allow: ['.*'] }\n`
    )
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('lists more than 100000 tags; not read further')
    expect(run.stdout).not.toContain('RangeError')
    expect(writes(await destination.accessLog())).toEqual([])
  })

  test('a 300,000-character tag never meets a user pattern (dropped by the grammar first): the mirror goes on', async () => {
    const long = 'a-'.repeat(150_000)
    hostile.faults.answer = (request) => (isTagList(request, 'lib/app') ? tagListAnswer('lib/app', ['v1', long]) : undefined)
    const run = await mirror(
      `mirrors:\n  - source: ${hostile.host}/lib/app\n    destination: ${destination.host}/mirror/regex\n    tags: { allow: ['.*-.*-alpine', 'v1'] }\n`
    )
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('listed 1 name that is not a tag')
    expect(run.stdout).toContain('(300000 characters)')
    // The name is shown cut, never whole.
    expect(run.stdout.length).toBeLessThan(100_000)
    expect(await listTags(destination.host, 'mirror/regex', { credentials: login })).toEqual(['v1'])
  }, 30_000)

  test('an index naming one child 5,000 times: the child fetched once', async () => {
    const run = await runAction({ srcRef: `${hostile.host}/lib/fan:v1`, destRef: `${destination.host}/mirror/fan:v1`, ...login })
    expect(run.exitCode).toBe(0)
    const childGets = hostile.requests.filter((r) => r.method === 'GET' && r.path === `/v2/lib/fan/manifests/${fanChild.root.digest}`)
    expect(childGets).toHaveLength(1)
    expect(run.outputs.digest).toBe(fanOut.root.digest)
  })

  test('a registry refusing n=1000 (PAGINATION_NUMBER_INVALID) is asked again with 100, remembered for its next list', async () => {
    hostile.faults.answer = (request) => {
      const n = pageSizeOf(request)
      return request.path.includes('/tags/list') && n !== undefined && n > 100 ? PAGINATION_REFUSED : undefined
    }
    const run = await mirror(
      `mirrors:\n  - source: ${hostile.host}/lib/app\n    destination: ${destination.host}/mirror/paged\n    tags: { allow: ['v1'] }\n` +
        `  - source: ${hostile.host}/lib/fan\n    destination: ${destination.host}/mirror/paged-fan\n    tags: { allow: ['nothing'] }\n`,
      { mirrorConcurrency: '1' }
    )
    expect(run.exitCode).toBe(0)
    const asked = hostile.requests.filter((r) => r.path.includes('/tags/list')).map((r) => `${r.path.split('?')[0]} n=${pageSizeOf(r)}`)
    expect(asked.filter((line) => line.includes('/lib/app/'))).toEqual(['/v2/lib/app/tags/list n=1000', '/v2/lib/app/tags/list n=100'])
    expect(asked.filter((line) => line.includes('/lib/fan/'))).toEqual(['/v2/lib/fan/tags/list n=100'])
    expect(await listTags(destination.host, 'mirror/paged', { credentials: login })).toEqual(['v1'])
  })

  test('a registry refusing every n is asked for its own page size', async () => {
    hostile.faults.answer = (request) =>
      isTagList(request, 'lib/app') && pageSizeOf(request) !== undefined ? PAGINATION_REFUSED : undefined
    const run = await mirror(
      `mirrors:\n  - source: ${hostile.host}/lib/app\n    destination: ${destination.host}/mirror/unpaged\n    tags: ['v2']\n`
    )
    expect(run.exitCode).toBe(0)
    // Exact tags read no list; a filter does.
    expect(hostile.requests.filter((r) => r.path.includes('/tags/list'))).toEqual([])
    const filtered = await mirror(
      `mirrors:\n  - source: ${hostile.host}/lib/app\n    destination: ${destination.host}/mirror/unpaged\n    tags: { allow: ['v2'] }\n`
    )
    expect(filtered.exitCode).toBe(0)
    expect(hostile.requests.filter((r) => r.path.includes('/tags/list')).map((r) => pageSizeOf(r))).toEqual([1000, 100, undefined])
  })
})

describe('a registry that lies about digests', () => {
  test('a manifest GET by tag whose Docker-Content-Digest is not its bytes’ fails the copy, nothing tagged', async () => {
    hostile.faults.editResponse = (request, response) => {
      if (request.method === 'GET' && request.path === '/v2/lib/app/manifests/v1')
        response.headers['docker-content-digest'] = victim.root.digest
    }
    const run = await runAction({ srcRef: `${hostile.host}/lib/app:v1`, destRef: `${destination.host}/mirror/lied:v1`, ...login })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain(`expected ${victim.root.digest}`)
    expect(await listTags(destination.host, 'mirror/lied', { credentials: login })).toEqual([])
    expect(writes(await destination.accessLog()).filter((entry) => entry.path.includes('/manifests/'))).toEqual([])
  })
})

describe('logs and summaries cannot be steered by data', () => {
  test('a registry error message holding workflow commands, Markdown and HTML: one escaped line, no command, no markup', async () => {
    strict.faults.answer = (request) =>
      request.method === 'PUT' && request.path.includes('/manifests/')
        ? registryError(
            400,
            'MANIFEST_INVALID',
            'refused ##[stop-commands]tok ##vso[task.setvariable variable=x]y\n::error title=pwned::owned\n::set-output name=digest::sha256:evil\n| x | <img src=x onerror=alert(1)> `code`'
          )
        : undefined
    const run = await runAction({ srcRef: `${source.host}/lib/app:v1`, destRef: `${strict.host}/mirror/refused:v1`, ...login })
    expect(run.exitCode).toBe(1)
    expect(injectedCommands(run.stdout)).toEqual([])
    expect(run.outputs.digest ?? '').not.toContain('evil')
    expect(run.summary).not.toContain('<img')
    expect(run.summary).not.toMatch(/(^|[^\\])`code/)
    expect(run.summary).toContain('MANIFEST_INVALID')
  })
})

describe('secrets stay where they belong', () => {
  test('a credential helper for the source sees no input and no token of ours, and keeps what cloud helpers need', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'oci-push-helper-'))
    const seen = join(bin, 'env.txt')
    const helper = join(bin, 'docker-credential-spy')
    await writeFile(helper, `#!/bin/sh\nenv > ${seen}\necho "credentials not found in native keychain"\nexit 1\n`)
    await chmod(helper, 0o755)
    const dockerConfig = join(bin, 'docker')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dockerConfig)
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ credHelpers: { [source.host]: 'spy' } }))
    try {
      const run = await runAction(
        { srcRef: `${source.host}/lib/app:v1`, destRef: `${destination.host}/mirror/helped:v1`, ...login, githubToken: 'ghs_input_token' },
        {
          PATH: `${bin}:${process.env.PATH ?? ''}`,
          DOCKER_CONFIG: dockerConfig,
          GITHUB_TOKEN: 'ghs_env_token',
          AWS_REGION: 'eu-west-1',
          ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.example',
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-request-token'
        }
      )
      expect(run.exitCode).toBe(0)
      const env = await readFile(seen, 'utf8')
      const names = env.split('\n').map((line) => line.split('=')[0])
      expect(names.filter((name) => name.startsWith('INPUT_'))).toEqual([])
      expect(names).not.toContain('GITHUB_TOKEN')
      expect(env).not.toContain(login.password)
      expect(env).not.toContain('ghs_')
      for (const kept of ['PATH', 'HOME', 'DOCKER_CONFIG', 'AWS_REGION', 'ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'])
        expect(names).toContain(kept)
    } finally {
      await rm(bin, { recursive: true, force: true })
    }
  })
})
