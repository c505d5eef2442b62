import { describe, expect, test } from '@jest/globals'
import { parseRunRequest, splitList } from '../src/run-request.js'
import { InputError } from '../src/errors.js'
import { formatEndpoint } from '../src/endpoint.js'
import { ACTION_WORDS, inWords } from '../src/words.js'

const read = (values: Record<string, string>) => (name: string) => values[name] ?? ''
const parse = (values: Record<string, string>, env: NodeJS.ProcessEnv = {}) => parseRunRequest(read(values), env)
const base = { srcRef: 'localhost:5000/app:v1', destRef: 'localhost:5000/app:v2' }

describe('parseRunRequest', () => {
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

  test('destRef: a comment after a reference (`ref  # why`) is a comment, as a whole-line one is', () => {
    const inputs = parse({ ...base, destRef: 'a.io/x:1  # the release\nb.io/y:2\t# mirror for EU\n# c.io/z\n' })
    expect(inputs.destinations.map(formatEndpoint)).toEqual(['a.io/x:1', 'b.io/y:2'])
    expect(splitList('linux/amd64 # x86, linux/arm64')).toEqual(['linux/amd64'])
  })

  test('an archive pushed under a prefix: the prefix registry gets the destination login', () => {
    const inputs = parse({ archive: '/tmp/a.tar', destRef: 'q.io/org/\nr.io/team/app:v1', username: 'u', password: 'p' })
    expect(inputs.prefixes).toEqual(['q.io/org/'])
    expect(inputs.credentials.map((c) => `${c.role} ${c.registry} ${c.credentials.username}`)).toEqual([
      'destination r.io u',
      'destination q.io u'
    ])
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
    expect(both.credentials.map((c) => inWords(c.credentials.origin ?? '', ACTION_WORDS))).toEqual([
      'the srcUsername input',
      'the username input'
    ])
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

describe('parseRunRequest: mirror, shard, dryRun, failFast, mirrorConcurrency', () => {
  const config = 'mirrors:\n  - source: docker.io/library/nginx:1.27\n    destination: r.io/mirror/nginx\n'
  const twoSources = `${config}  - source: quay.io/org/tool:v1\n    destination: q.io/mirror/tool\n`

  const inputError = (values: Record<string, string>, env: NodeJS.ProcessEnv = {}): InputError => {
    try {
      parse(values, env)
    } catch (error) {
      if (error instanceof InputError) return error
      throw error
    }
    throw new Error('parseRunRequest accepted the inputs')
  }

  test('defaults: no mirror, no shard, not a dry run, 4 pairs at once', () => {
    const inputs = parse(base)
    expect(inputs).toMatchObject({ dryRun: false, failFast: false, mirrorConcurrency: 4 })
    expect(inputs.mirror).toBeUndefined()
    expect(inputs.shard).toBeUndefined()
  })

  test('mirror inline, with shard, dryRun, failFast and mirrorConcurrency', () => {
    const inputs = parse({ mirror: config, shard: '1/4', dryRun: 'true', failFast: 'true', mirrorConcurrency: '16' })
    expect(inputs.mirror?.entries.map((e) => `${e.source.repository}:${e.source.tag} ${e.destination.registry}`)).toEqual([
      'library/nginx:1.27 r.io'
    ])
    expect(inputs).toMatchObject({ shard: { index: 1, count: 4 }, dryRun: true, failFast: true, mirrorConcurrency: 16 })
    expect(inputs.source).toBeUndefined()
    expect(inputs.destinations).toEqual([])
  })

  test('mirror: a file is read from GITHUB_WORKSPACE', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises')
    const dir = await mkdtemp('/tmp/oci-push-mirror-')
    try {
      await writeFile(`${dir}/mirror.yml`, config)
      const inputs = parse({ mirror: 'mirror.yml' }, { GITHUB_WORKSPACE: dir })
      expect(inputs.mirror?.file).toBe('mirror.yml')
      expect(inputs.mirror?.entries).toHaveLength(1)
    } finally {
      await rm(dir, { recursive: true })
    }
  })

  test('mirror credentials: username for every destination registry, srcUsername for the one source registry', () => {
    const inputs = parse({ mirror: config, username: 'u', password: 'p', srcUsername: 's', srcPassword: 'sp' })
    expect(inputs.credentials.map((c) => `${c.role} ${c.registry} ${inWords(c.credentials.origin ?? '', ACTION_WORDS)}`)).toEqual([
      'source docker.io the srcUsername input',
      'destination r.io the username input'
    ])
    expect(inputs.secrets).toEqual(['p', 'sp'])
  })

  test.each([
    [
      'mirror and srcRef',
      { mirror: config, srcRef: 'a.io/b' },
      'mirror',
      /^mirror: give one of srcRef, archive, path and mirror, not srcRef and mirror$/
    ],
    ['mirror and archive', { mirror: config, archive: '/tmp/none.tar' }, 'mirror', /not archive and mirror$/],
    ['mirror and path', { mirror: config, path: './chart' }, 'mirror', /not path and mirror$/],
    ['mirror with destRef', { mirror: config, destRef: 'r.io/x' }, 'destRef', /not used with mirror/],
    ['mirror with platforms', { mirror: config, platforms: 'linux/amd64' }, 'platforms', /set platforms in the mirror config/],
    ['mirror with referrers', { mirror: config, referrers: 'true' }, 'referrers', /set referrers in the mirror config/],
    ['mirror with subject', { mirror: config, subject: 'r.io/x:1' }, 'subject', /not used with mirror/],
    ['a mirror config with a mistake', { mirror: 'mirrors:\n  - source: nginx\n' }, 'mirror', /entry 1 \(nginx\): destination/],
    ['a mirror file that is missing', { mirror: 'nowhere.yml' }, 'mirror', /"nowhere\.yml" not found/],
    [
      'srcUsername with sources on two registries',
      { mirror: twoSources, srcUsername: 's', srcPassword: 'p' },
      'srcUsername',
      /docker\.io, quay\.io/
    ],
    ['shard without mirror', { ...base, shard: '0/2' }, 'shard', /set mirror too/],
    ['shard not i/n', { mirror: config, shard: 'half' }, 'shard', /"half" is not i\/n/],
    ['shard index past the count', { mirror: config, shard: '4/4' }, 'shard', /from 0 to n-1 \(3\)/],
    ['mirrorConcurrency 0', { mirror: config, mirrorConcurrency: '0' }, 'mirrorConcurrency', /"0" is not a whole number from 1 to 64/],
    ['mirrorConcurrency over 64', { mirror: config, mirrorConcurrency: '65' }, 'mirrorConcurrency', /from 1 to 64/],
    ['mirrorConcurrency not a number', { mirror: config, mirrorConcurrency: 'many' }, 'mirrorConcurrency', /"many" is not a whole number/],
    ['mirrorConcurrency a fraction', { mirror: config, mirrorConcurrency: '2.5' }, 'mirrorConcurrency', /"2\.5" is not a whole number/],
    ['dryRun not a boolean', { ...base, dryRun: 'maybe' }, 'dryRun', /"maybe" is not a boolean/],
    ['failFast not a boolean', { mirror: config, failFast: 'yes' }, 'failFast', /"yes" is not a boolean/]
  ])('%s: an error naming the input', (_name, values, input, problem) => {
    const error = inputError(values)
    expect(error.input).toBe(input)
    expect(error.message).toMatch(new RegExp(`^${input}: `))
    expect(error.message).toMatch(problem)
    expect(error.message).not.toContain('\n')
  })

  test('dryRun with srcRef is a plan of a single copy; failFast without mirror is a notice', () => {
    expect(parse({ ...base, dryRun: 'true' }).dryRun).toBe(true)
    expect(parse({ ...base, failFast: 'true' }).notices.map((n) => inWords(n, ACTION_WORDS))).toEqual([
      expect.stringMatching(/^failFast has no effect without mirror/)
    ])
    expect(parse(base).notices).toEqual([])
  })
})
