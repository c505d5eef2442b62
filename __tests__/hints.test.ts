import { describe, expect, test } from '@jest/globals'
import { connectionHint, registryHint, type HintContext } from '../src/http/hints.js'
import { ACTION_WORDS, given, inWords } from '../src/words.js'
import { cliWords } from '../src/cli/commands.js'

const dest = (registry: string, credentials?: string): HintContext => ({
  registry,
  role: 'destination',
  ...(credentials ? { credentials } : {})
})
const src = (registry: string, credentials?: string): HintContext => ({ registry, role: 'source', ...(credentials ? { credentials } : {}) })
const code = (c: string) => [{ code: c, message: '' }]

describe('registryHint', () => {
  test.each([
    ['401 on the destination, no credentials', 401, [], dest('r.io'), /set username and password/],
    ['401 on the source, no credentials', 401, [], src('r.io'), /set srcUsername and srcPassword/],
    [
      '401 with credentials names where they came from',
      401,
      [],
      dest('r.io', given('username')),
      /r\.io refused the credentials from the username input/
    ],
    ['ghcr.io 401 on the destination names packages: write', 401, [], dest('ghcr.io', given('githubToken')), /packages: write/],
    [
      'ghcr.io 403 on the destination',
      403,
      code('DENIED'),
      dest('ghcr.io', given('githubToken')),
      /`permissions: packages: write` \(and, for an organisation's package, the repository needs write access/
    ],
    ['403 elsewhere', 403, code('DENIED'), dest('r.io', given('username')), /lack permission/],
    ['Docker Hub 429, anonymous', 429, code('TOOMANYREQUESTS'), src('docker.io'), /anonymous.*log in/],
    ['TOOMANYREQUESTS in another status', 403, code('TOOMANYREQUESTS'), src('docker.io'), /pull limit/],
    [
      'Docker Hub 429 with a Retry-After: when it resets',
      429,
      code('TOOMANYREQUESTS'),
      { ...src('docker.io', 'Docker config (/c)'), limitSpent: true, retryAfterMs: 125 * 60_000 },
      /^Docker Hub's pull limit for this account is reached; it resets in about 2 h 5 min; wait/
    ],
    [
      'another registry whose limit is spent',
      429,
      [],
      { ...src('quay.io'), limitSpent: true, retryAfterMs: 90_000 },
      /^the pull limit of quay\.io for anonymous users is reached; it resets in about 2 min/
    ],
    [
      'insufficient scope',
      401,
      [],
      { ...dest('r.io', 'Docker config (/c)'), challengeError: 'insufficient_scope' },
      /do not grant push access/
    ],
    ['NAME_UNKNOWN on a destination (ECR)', 404, code('NAME_UNKNOWN'), dest('r.io'), /created first/],
    ['MANIFEST_UNKNOWN', 404, code('MANIFEST_UNKNOWN'), src('r.io'), /^not found: check that the tag or digest exists$/],
    ['ECR immutable tag', 400, code('TAG_INVALID'), dest('r.io', given('username')), /immutable/]
  ])('%s', (_name, status, details, context, hint) => {
    expect(inWords(registryHint(status, details, context) ?? '', ACTION_WORDS)).toMatch(hint)
  })

  test('a destination hint never names the source inputs, and the reverse', () => {
    for (const status of [401, 403]) {
      expect(registryHint(status, [], dest('r.io'))).not.toContain('srcUsername')
      expect(registryHint(status, [], src('r.io'))).not.toMatch(/set username/)
    }
  })
})

describe('each front end names the inputs its own way (issue 23)', () => {
  test('a login hint: the action names its inputs and docker/login-action, the CLI its flags and docker login', () => {
    const hint = registryHint(401, [], dest('r.io')) ?? ''
    expect(inWords(hint, ACTION_WORDS)).toBe(
      'r.io needs credentials: set username and password, or log in to it in an earlier step (docker/login-action)'
    )
    const cli = inWords(hint, cliWords('copy'))
    expect(cli).toBe('r.io needs credentials: set --username and --password-stdin, or log in to it first with docker login')
    expect(cli).not.toMatch(/login-action|(^|\s)(username|password)\b/)
    expect(inWords(registryHint(401, [], src('r.io')) ?? '', cliWords('copy'))).toContain('--src-username and --src-password-stdin')
  })

  test('TLS hints: plainHttp: true and caCert in the action, --plain-http and --ca-cert in the CLI', () => {
    const plain = connectionHint('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number', new URL('https://r.io:5000/v2/')) ?? ''
    expect(inWords(plain, ACTION_WORDS)).toContain('set plainHttp: true')
    expect(inWords(plain, cliWords('push'))).toContain('set --plain-http or')
    const ca = connectionHint('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate', new URL('https://r.io/v2/')) ?? ''
    expect(inWords(ca, cliWords('copy'))).toContain('give its CA in --ca-cert, or set --insecure-skip-tls-verify')
  })
})

describe('connectionHint', () => {
  test.each([
    ['DNS', 'ENOTFOUND', 'getaddrinfo ENOTFOUND nope.example', 'https://nope.example/v2/', /could not be resolved/],
    ['refused', 'ECONNREFUSED', 'connect ECONNREFUSED', 'http://127.0.0.1:1/v2/', /check the host and port/],
    ['self-signed', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate', 'https://r.io/v2/', /caCert/],
    ['TLS to a plain-HTTP port', 'ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number', 'https://r.io:5000/v2/', /plainHttp: true/]
  ])('%s', (_name, c, message, url, hint) => {
    expect(inWords(connectionHint(c, message, new URL(url)) ?? '', ACTION_WORDS)).toMatch(hint)
  })

  test('only a TLS mismatch mentions plainHttp', () => {
    expect(connectionHint('ENOTFOUND', 'getaddrinfo ENOTFOUND r.io', new URL('https://r.io/v2/'))).not.toContain('plainHttp')
    expect(connectionHint('ECONNRESET', 'socket hang up', new URL('https://r.io/v2/'))).toBeUndefined()
  })
})
