import { describe, expect, test } from '@jest/globals'
import { parseInputs, splitList } from '../src/action/inputs.js'
import { InputError } from '../src/errors.js'
import { formatEndpoint } from '../src/endpoint.js'

const read = (values: Record<string, string>) => (name: string) => values[name] ?? ''
const parse = (values: Record<string, string>, env: NodeJS.ProcessEnv = {}) => parseInputs(read(values), env)
const base = { srcRef: 'localhost:5000/app:v1', destRef: 'localhost:5000/app:v2' }

describe('parseInputs', () => {
  test('defaults: latest tag, 1 GiB limit, HTTPS unless loopback', () => {
    const inputs = parse({ srcRef: 'nginx', destRef: 'ghcr.io/org/nginx' })
    expect(inputs.source).toEqual({ kind: 'registry', reference: { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' } })
    expect(inputs.destinations).toEqual([{ kind: 'registry', reference: { registry: 'ghcr.io', repository: 'org/nginx' } }])
    expect(inputs.maxArtifactSize).toBe(1024 ** 3)
    expect(inputs.plainHttp).toBe(false)
    expect(inputs.credentials).toEqual([])
  })

  test('destRef: one per line, commas too, blank lines and comments ignored', () => {
    const inputs = parse({ ...base, destRef: 'a.io/x:1\n\n  b.io/y:2 , c.io/z\n# not this\n' })
    expect(inputs.destinations.map(formatEndpoint)).toEqual(['a.io/x:1', 'b.io/y:2', 'c.io/z'])
    expect(splitList('')).toEqual([])
  })

  test('maxArtifactSize: the input, else the environment, else 1GiB', () => {
    expect(parse({ ...base, maxArtifactSize: '10MiB' }, { MAX_OCI_PUSH_ARTIFACT_SIZE: '1KiB' }).maxArtifactSize).toBe(10 * 1024 ** 2)
    expect(parse(base, { MAX_OCI_PUSH_ARTIFACT_SIZE: '1KiB' }).maxArtifactSize).toBe(1024)
    expect(parse({ ...base, maxArtifactSize: '-1' }).maxArtifactSize).toBe(Number.POSITIVE_INFINITY)
    expect(parse({ ...base, maxArtifactSize: '0' }).maxArtifactSize).toBe(0)
  })

  test('credentials: username for destinations and a source on their registry; srcUsername for the source', () => {
    const same = parse({ srcRef: 'r.io/a:1', destRef: 'r.io/b:1\nq.io/c:1', username: 'u', password: 'p' })
    expect(same.credentials.map((c) => `${c.role} ${c.registry} ${c.credentials.username}`)).toEqual([
      'destination r.io u',
      'source r.io u',
      'destination q.io u'
    ])
    const both = parse({ srcRef: 'r.io/a:1', destRef: 'r.io/b:1', username: 'u', password: 'p', srcUsername: 's', srcPassword: 'sp' })
    expect(both.credentials.map((c) => `${c.role} ${c.registry} ${c.credentials.username}`)).toEqual([
      'source r.io s',
      'destination r.io u'
    ])
    expect(both.secrets).toEqual(['p', 'sp'])
    expect(both.credentials.map((c) => c.credentials.origin)).toEqual(['the srcUsername input', 'the username input'])
  })

  test.each([
    ['srcRef missing', { destRef: 'a.io/b' }, 'srcRef', /required/],
    ['destRef missing', { srcRef: 'a.io/b' }, 'destRef', /required/],
    ['destRef only blank', { srcRef: 'a.io/b', destRef: '\n \n' }, 'destRef', /required/],
    ['srcRef malformed', { ...base, srcRef: 'Bad/Ref' }, 'srcRef', /lowercase/],
    ['destRef malformed line', { ...base, destRef: 'ok.io/a\nbad ref' }, 'destRef', /not a valid/],
    ['destRef with a digest', { ...base, destRef: `a.io/b@sha256:${'a'.repeat(64)}` }, 'destRef', /names a digest/],
    ['a layout path with a bad digest', { ...base, srcRef: './layout@sha256:abc' }, 'srcRef', /is not a digest/],
    ['a layout destination with a digest', { ...base, destRef: `./out@sha256:${'a'.repeat(64)}` }, 'destRef', /names a digest/],
    ['plainHttp not a boolean', { ...base, plainHttp: 'yes' }, 'plainHttp', /not a boolean/],
    ['maxArtifactSize not a size', { ...base, maxArtifactSize: 'big' }, 'maxArtifactSize', /not a size/],
    ['password without username', { ...base, password: 'p' }, 'username', /required when password/],
    ['username without password', { ...base, username: 'u' }, 'password', /required when username/],
    ['srcPassword without srcUsername', { ...base, srcPassword: 'p' }, 'srcUsername', /required when srcPassword/]
  ])('%s', (_name, values, input, problem) => {
    let error: unknown
    try {
      parse(values)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).input).toBe(input)
    expect((error as InputError).message).toMatch(new RegExp(`^${input}: `))
    expect((error as InputError).message).toMatch(problem)
    expect((error as InputError).message).not.toContain('\n')
  })

  test('local OCI layouts: a path with a tag, a digest, or neither', () => {
    expect(parse({ srcRef: './build/layout:v1', destRef: '/tmp/out' }).source).toEqual({
      kind: 'layout',
      path: './build/layout',
      tag: 'v1'
    })
    expect(parse({ srcRef: `../l@sha256:${'b'.repeat(64)}`, destRef: 'r.io/a' }).source).toEqual({
      kind: 'layout',
      path: '../l',
      digest: `sha256:${'b'.repeat(64)}`
    })
    expect(parse({ srcRef: '/abs/layout', destRef: './out:v2' })).toMatchObject({
      source: { kind: 'layout', path: '/abs/layout' },
      destinations: [{ kind: 'layout', path: './out', tag: 'v2' }]
    })
  })

  test('TLS and token inputs: caCert as PEM text or a file, githubToken masked', async () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
    expect(parse({ ...base, caCert: pem }).caCert).toBe(pem.trim())
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises')
    const dir = await mkdtemp('/tmp/oci-push-ca-')
    try {
      await writeFile(`${dir}/ca.pem`, pem)
      expect(parse({ ...base, caCert: `${dir}/ca.pem` }).caCert).toBe(pem)
    } finally {
      await rm(dir, { recursive: true })
    }
    const inputs = parse({ ...base, githubToken: 'ghs_abc', insecureSkipTLSVerify: 'true' })
    expect(inputs.githubToken).toBe('ghs_abc')
    expect(inputs.secrets).toContain('ghs_abc')
    expect(inputs.insecureSkipTLSVerify).toBe(true)
    expect(parse(base).caCert).toBeUndefined()
  })

  test.each([
    [
      'caCert a missing file',
      { ...base, caCert: '/nonexistent/ca.pem' },
      /caCert: "\/nonexistent\/ca.pem" is neither PEM text nor a readable file/
    ],
    ['caCert without a certificate', { ...base, caCert: '-----BEGIN PRIVATE KEY-----\nx' }, /caCert: holds no PEM certificate/],
    [
      'insecureSkipTLSVerify not a boolean',
      { ...base, insecureSkipTLSVerify: 'sometimes' },
      /^insecureSkipTLSVerify: "sometimes" is not a boolean/
    ]
  ])('%s', (_name, values, message) => {
    expect(() => parse(values)).toThrow(message)
  })

  test('SOURCE_DATE_EPOCH: seconds, or an error naming it', () => {
    expect(parse(base, { SOURCE_DATE_EPOCH: '1700000000' }).sourceDateEpoch).toBe(1700000000)
    expect(parse(base).sourceDateEpoch).toBeUndefined()
    expect(() => parse(base, { SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(/^SOURCE_DATE_EPOCH: "yesterday" is not a whole number/)
  })

  test('a malformed environment limit names the variable', () => {
    expect(() => parse(base, { MAX_OCI_PUSH_ARTIFACT_SIZE: 'lots' })).toThrow(/^MAX_OCI_PUSH_ARTIFACT_SIZE: "lots" is not a size/)
  })
})
