/**
 * The bundled action (dist/index.js) run as the runner runs it: inputs from INPUT_* variables,
 * outputs and job summary through the files the runner names.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { runAction } from '../testbed/action.js'
import { image, index, listTags, pushFixture } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, skopeoRaw } from '../testbed/tools.js'

let a: TestRegistry
let secured: TestRegistry
const login = { username: 'action-user', password: 'action-pass-0123456789' }
const amd64 = image({ seed: 'action-amd64', layers: 3 })
const multi = index([amd64, image({ seed: 'action-arm64', architecture: 'arm64' })])

beforeAll(async () => {
  await requireTools()
  ;[a, secured] = await Promise.all([startRegistry(), startRegistry({ htpasswd: login })])
  await pushFixture(a.host, 'app', multi, 'build-7')
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
    expect(run.summary).toContain(`<td>${secured.host}/release/app:build-7</td>`)
    expect(run.summary).toContain(multi.root.digest)
    // Blobs uploaded to the second registry: every image's config and layers.
    const blobCount = multi.blobs.length
    expect(run.summary).toMatch(new RegExp(`<td>[0-9.]+ KiB</td><td>0</td><td>0</td><td>${blobCount}</td><td>[0-9.]+</td>`))
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
