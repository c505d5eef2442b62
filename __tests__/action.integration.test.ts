/**
 * The bundled action (dist/index.js) run as the runner runs it: inputs from INPUT_* variables,
 * outputs and job summary through the files the runner names.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction } from '../testbed/action.js'
import { image, index, listTags, pushFixture } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, skopeoRaw } from '../testbed/tools.js'

let a: TestRegistry
let secured: TestRegistry
const login = { username: 'action-user', password: 'action-pass-0123456789' }
const amd64 = image({ seed: 'action-amd64', layers: 3 })
const multi = index([amd64, image({ seed: 'action-arm64', architecture: 'arm64' })])
/** One 12 MiB layer that does not compress: several progress events on its way. */
const large = image({ seed: 'action-large', layers: 1, layerSize: 12 * 1024 * 1024 })

beforeAll(async () => {
  await requireTools()
  ;[a, secured] = await Promise.all([startRegistry(), startRegistry({ htpasswd: login })])
  await pushFixture(a.host, 'app', multi, 'build-7')
  await pushFixture(a.host, 'large', large, 'v1')
}, 60_000)

afterAll(async () => {
  await Promise.all([a, secured].map((r) => r?.stop()))
})

const errorLines = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('::error'))

describe('the action as the runner runs it', () => {
  test('copies, sets every output and writes the job summary', async () => {
    const run = await runAction({
      srcRef: `${a.host}/app:build-7`,
      destRef: `${a.host}/app:v1.0.0\n${secured.host}/release/app`,
      username: login.username,
      password: login.password
    })
    expect(run.exitCode).toBe(0)
    expect(errorLines(run.stdout)).toEqual([])
    expect(run.outputs.image).toBe(`${a.host}/app:v1.0.0`)
    expect(run.outputs.digest).toBe(multi.root.digest)
    expect(run.outputs.tag).toBe('v1.0.0')
    expect(run.outputs.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    expect(run.outputs.size).toBe(String(multi.root.size))
    expect(JSON.parse(run.outputs.pushed)).toEqual([
      { ref: `${a.host}/app:v1.0.0`, digest: multi.root.digest, mediaType: multi.root.mediaType, size: multi.root.size },
      { ref: `${secured.host}/release/app:build-7`, digest: multi.root.digest, mediaType: multi.root.mediaType, size: multi.root.size }
    ])
    expect(await skopeoRaw(`${secured.host}/release/app:build-7`, login)).toBe(multi.root.bytes.toString())
    // Markdown tables: the source and its platforms, each reference written, the transfer counts.
    expect(run.summary).not.toContain('<table')
    expect(run.summary).toContain(`| ${a.host}/app:build-7 | all |`)
    expect(run.summary).toContain(`| ${secured.host}/release/app:build-7 | ${multi.root.digest} | ${multi.root.mediaType} |`)
    // Blobs uploaded to the second registry: every image's config and layers.
    const blobCount = multi.blobs.length
    expect(run.summary).toMatch(new RegExp(`\\| [0-9.]+ KiB \\| 0 \\| 0 \\| ${blobCount} \\| [0-9.]+ \\|`))
  })

  test('secrets are masked and never printed', async () => {
    const run = await runAction({
      srcRef: `${a.host}/app:build-7`,
      destRef: `${secured.host}/masked/app:v1`,
      username: login.username,
      password: login.password
    })
    expect(run.exitCode).toBe(0)
    const basic = Buffer.from(`${login.username}:${login.password}`).toString('base64')
    // The Basic header's value is a secret of its own: masked before any request is made.
    expect(run.stdout).toContain(`::add-mask::${login.password}`)
    expect(run.stdout).toContain(`::add-mask::${basic}`)
    const printed = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'))
    expect(printed.join('\n')).not.toContain(login.password)
    expect(printed.join('\n')).not.toContain(basic)
    expect(run.stderr).not.toContain(login.password)
  })

  test('a digest-only source and a destination without a tag: pushed by digest, empty tag', async () => {
    const run = await runAction({ srcRef: `${a.host}/app@${amd64.root.digest}`, destRef: `${a.host}/pinned/app` })
    expect(run.exitCode).toBe(0)
    expect(run.outputs.tag).toBe('')
    expect(run.outputs.image).toBe(`${a.host}/pinned/app@${amd64.root.digest}`)
    expect(await listTags(a.host, 'pinned/app')).toEqual([])
  })

  test.each([
    [
      'a malformed destRef',
      { srcRef: 'localhost:5000/app:v1', destRef: 'localhost:5000/App' },
      /^::error::destRef: "localhost:5000\/App" is not a valid reference: repository names must be lowercase \(e\.g\. ghcr\.io\/org\/app:v1\.2\.3, or \.\/layout:v1 for a local OCI layout\)$/
    ],
    ['a missing srcRef', { destRef: 'localhost:5000/app' }, /^::error::srcRef: required/],
    [
      'a bad plainHttp',
      { srcRef: 'localhost:5000/a', destRef: 'localhost:5000/b', plainHttp: 'maybe' },
      /^::error::plainHttp: "maybe" is not a boolean; use true or false$/
    ],
    ['a missing destRef', { srcRef: 'localhost:5000/a' }, /^::error::destRef: required: .*e\.g\. ghcr\.io\/org\/app:latest$/],
    [
      'an invalid srcRef',
      { srcRef: 'localhost:5000/a:bad tag', destRef: 'localhost:5000/b' },
      /^::error::srcRef: "localhost:5000\/a:bad tag" is not a valid reference: .* \(e\.g\. ghcr\.io/
    ],
    [
      'a bad maxArtifactSize',
      { srcRef: 'localhost:5000/a', destRef: 'localhost:5000/b', maxArtifactSize: '1 potato' },
      /^::error::maxArtifactSize: "1 potato" is not a size: give bytes or a number with KiB/
    ],
    [
      'a bad insecureSkipTLSVerify',
      { srcRef: 'localhost:5000/a', destRef: 'localhost:5000/b', insecureSkipTLSVerify: 'on' },
      /^::error::insecureSkipTLSVerify: "on" is not a boolean; use true or false$/
    ],
    [
      'a password without a username',
      { srcRef: 'localhost:5000/a', destRef: 'localhost:5000/b', password: 'p-123' },
      /^::error::username: required when password is set$/
    ],
    [
      'a caCert that is no certificate',
      { srcRef: 'localhost:5000/a', destRef: 'localhost:5000/b', caCert: '/nonexistent/ca.pem' },
      /^::error::caCert: "\/nonexistent\/ca\.pem" is neither PEM text nor a readable file/
    ]
  ])('%s fails the step with one error line naming the input', async (_name, inputs, line) => {
    const run = await runAction(inputs)
    expect(run.exitCode).toBe(1)
    expect(errorLines(run.stdout)).toHaveLength(1)
    expect(errorLines(run.stdout)[0]).toMatch(line)
    expect(run.outputs).toEqual({})
  })

  test('the size limit from the environment refuses the copy and writes nothing', async () => {
    const run = await runAction(
      { srcRef: `${a.host}/app:build-7`, destRef: `${a.host}/limited/app:v1` },
      { MAX_OCI_PUSH_ARTIFACT_SIZE: '1KiB' }
    )
    expect(run.exitCode).toBe(1)
    expect(errorLines(run.stdout)).toEqual([
      expect.stringMatching(/^::error::[0-9.]+ KiB exceeds the limit of 1\.0 KiB; raise maxArtifactSize$/)
    ])
    expect(await listTags(a.host, 'limited/app')).toEqual([])
  })
})

/** The lines between each `::group::` and its `::endgroup::`, by the group's title. */
function groups(stdout: string): Map<string, string[]> {
  const found = new Map<string, string[]>()
  let current: string[] | undefined
  for (const line of stdout.split('\n')) {
    if (line.startsWith('::group::')) found.set(line.slice('::group::'.length), (current = []))
    else if (line === '::endgroup::') current = undefined
    else current?.push(line)
  }
  return found
}

describe('what the log and the job summary show', () => {
  test('a copy folds into one log group, opened when it starts and closed when it ends', async () => {
    const run = await runAction({ srcRef: `${a.host}/app:build-7`, destRef: `${a.host}/grouped/app:v1` })
    expect(run.exitCode).toBe(0)
    const lines = run.stdout.split('\n')
    const title = `Copying ${a.host}/app:build-7 to ${a.host}/grouped/app:v1`
    expect(lines.filter((l) => l.startsWith('::group::'))).toEqual([`::group::${title}`])
    expect(lines.filter((l) => l === '::endgroup::')).toHaveLength(1)
    expect(groups(run.stdout).get(title)).toEqual(
      expect.arrayContaining([`Tagged ${a.host}/grouped/app:v1`, expect.stringMatching(/^Done in [0-9.]+ s: sha256:/)])
    )
  })

  test('a long copy prints progress lines: done of total, rate, time left', async () => {
    const run = await runAction(
      { srcRef: `${a.host}/large:v1`, destRef: `${secured.host}/large:v1`, username: login.username, password: login.password },
      { OCI_PUSH_PROGRESS_INTERVAL: '0' }
    )
    expect(run.exitCode).toBe(0)
    const progress = run.stdout.split('\n').filter((l) => l.startsWith('Progress: '))
    expect(progress.length).toBeGreaterThanOrEqual(3)
    for (const line of progress) expect(line).toMatch(/^Progress: [0-9.]+ (B|KiB|MiB) of 12\.0 MiB \(\d+%\), [0-9.]+ (B|KiB|MiB|GiB)\/s/)
    expect(progress.some((l) => /MiB of 12\.0 MiB \((3[0-9]|[4-9][0-9])%\)/.test(l))).toBe(true)
  })

  test('a failed copy writes the summary too: the source, the platforms, the error, nothing written', async () => {
    const run = await runAction({ srcRef: `${a.host}/app:build-7`, destRef: `${secured.host}/refused/app:v1`, platforms: 'linux/arm64' })
    expect(run.exitCode).toBe(1)
    const [error] = errorLines(run.stdout)
    expect(error).toMatch(/401/)
    expect(run.summary).toMatch(/^### oci-push failed\n/)
    expect(run.summary).toContain(`| ${a.host}/app:build-7 | linux/arm64 |`)
    expect(run.summary).toContain(`| ${error.replace(/^::error::/, '').replace(/\|/g, '\\|')} |`)
    expect(run.summary).toContain('No reference was written.')
  })

  test('an input error writes a summary naming it', async () => {
    const run = await runAction({ srcRef: `${a.host}/app:build-7` })
    expect(run.exitCode).toBe(1)
    expect(run.summary).toContain('### oci-push failed')
    expect(run.summary).toMatch(/\| destRef: required: /)
  })

  test('dryRun: the digest that would be pushed, and nothing written', async () => {
    const run = await runAction({
      srcRef: `${a.host}/app:build-7`,
      destRef: `${secured.host}/planned/app:v1`,
      platforms: 'linux/amd64',
      dryRun: 'true',
      username: login.username,
      password: login.password
    })
    expect(errorLines(run.stdout)).toEqual([])
    expect(run.exitCode).toBe(0)
    expect(run.outputs.digest).toBe(amd64.root.digest)
    expect(JSON.parse(run.outputs.pushed)).toEqual([
      { ref: `${secured.host}/planned/app:v1`, digest: amd64.root.digest, mediaType: amd64.root.mediaType, size: amd64.root.size }
    ])
    expect(await listTags(secured.host, 'planned/app', { credentials: login })).toEqual([])
    expect(run.summary).toContain('### oci-push: dry run, nothing written')
    expect(run.summary).toContain(`| ${secured.host}/planned/app:v1 | ${amd64.root.digest} |`)
    expect(run.summary).toMatch(/\| Bytes to upload at most \| Seconds \|\n\|---\|---\|\n\| [0-9.]+ KiB \|/)
  })

  test('which credentials each registry used, at debug level, never the secret', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-push-creds-'))
    try {
      const isolated = { DOCKER_CONFIG: dir, HELM_REGISTRY_CONFIG: join(dir, 'helm.json'), RUNNER_DEBUG: '1' }
      const fromInputs = await runAction(
        { srcRef: `${a.host}/app:build-7`, destRef: `${secured.host}/creds/app:v1`, username: login.username, password: login.password },
        isolated
      )
      expect(fromInputs.exitCode).toBe(0)
      const debug = (run: { stdout: string }) => run.stdout.split('\n').filter((l) => l.startsWith('::debug::Credentials for '))
      expect(debug(fromInputs).sort()).toEqual(
        [
          `::debug::Credentials for ${a.host} as the source: none found, anonymous`,
          `::debug::Credentials for ${secured.host} as the destination: the username input (user ${login.username})`
        ].sort()
      )

      const auth = Buffer.from(`${login.username}:${login.password}`).toString('base64')
      await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [secured.host]: { auth } } }))
      const fromConfig = await runAction({ srcRef: `${a.host}/app:build-7`, destRef: `${secured.host}/creds/app:v2` }, isolated)
      expect(fromConfig.exitCode).toBe(0)
      expect(debug(fromConfig)).toContain(
        `::debug::Credentials for ${secured.host} as the destination: Docker config (${join(dir, 'config.json')}) (user ${login.username})`
      )
      for (const run of [fromInputs, fromConfig]) {
        const printed = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'))
        expect(printed.join('\n')).not.toContain(login.password)
        expect(printed.join('\n')).not.toContain(auth)
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
