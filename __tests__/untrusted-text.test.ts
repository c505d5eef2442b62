/**
 * Names and text from outside (a registry, an archive, a config) before they reach a URL, a log
 * line or a summary (issue 21, DESIGN §7): the grammar checks and the escapes, as pure rules.
 */
import { describe, expect, test } from '@jest/globals'
import { cell } from '../src/action/summary.js'
import { planArchivePushes, type ArchiveDestination } from '../src/archive/select.js'
import type { ArchiveImage } from '../src/archive/archive-sources.js'
import { atTag, parseEndpoint } from '../src/endpoint.js'
import { RegistryError } from '../src/errors.js'
import { logLine, plain, shown } from '../src/escape.js'
import { describeEntry } from '../src/layout/entries.js'
import { isRepositoryName, isTag } from '../src/reference.js'

/** What a runner reads as a workflow command: a line starting (after blanks) with `::`, or holding `##[` or `##vso[` anywhere (the old parser). */
const readAsCommand = (text: string) => text.split(/\r\n|\r|\n/).some((line) => /^\s*::/.test(line) || /##(\[|vso\[)/.test(line))

describe('the tag grammar', () => {
  test.each(['v1', 'latest', '1.25.3-alpine', '_hidden', 'A'.repeat(128), 'sha256-abc.sig', '0'])('%s is a tag', (tag) => {
    expect(isTag(tag)).toBe(true)
  })
  test.each([
    '',
    '../../../victim/manifests/latest',
    'a/b',
    '.hidden',
    '-dash',
    'A'.repeat(129),
    'v1\n::error::x',
    'v1 ',
    'v1%0A',
    'v1?x=1',
    'v1#x',
    'ü'
  ])('%j is not a tag', (tag) => {
    expect(isTag(tag)).toBe(false)
  })
})

describe('the repository name grammar', () => {
  test.each(['app', 'org/app', 'a_b/c__d/e-f/g--h/i.j', 'a/'.repeat(50) + 'z'])('%s is a name', (name) => {
    expect(isRepositoryName(name)).toBe(true)
  })
  test.each(['', '..', 'org/../victim', '/app', 'app/', 'org//app', 'App', 'app\n', 'a.', 'x'.repeat(256), 'app%2F..'])(
    '%j is not a name',
    (name) => {
      expect(isRepositoryName(name)).toBe(false)
    }
  )
})

describe('shown: a value from outside in a message', () => {
  test.each([
    ['v1', '"v1"'],
    ['a\nb', '"a\\nb"'],
    ['\u001b[31mred', '"\\u001b[31mred"'],
    ['x\u2028y\u0085z', '"x\\u2028y\\u0085z"'],
    ['say "hi"', '"say \\"hi\\""']
  ])('%j → %s', (value, expected) => {
    expect(shown(value)).toBe(expected)
  })

  test('a long value is cut, its length said', () => {
    const text = shown('a'.repeat(300_000))
    expect(text.length).toBeLessThan(200)
    expect(text).toContain('(300000 characters)')
  })
})

describe('logLine: what the step prints on stdout', () => {
  test.each([
    'v1\n::error title=pwned::owned',
    '::set-output name=digest::sha256:0',
    '   ::add-mask::x',
    '##[error]old syntax',
    '##vso[task.setvariable]x',
    'Failed: push manifest r.io/app:v1: 400 MANIFEST_INVALID: x ##[stop-commands]tok',
    'a ##vso[task.setvariable variable=x]y in the middle',
    'a\r::warning::b',
    'a\u2028b\n::stop-commands::t'
  ])('%j is never read as a command', (text) => {
    expect(readAsCommand(text)).toBe(true)
    expect(readAsCommand(logLine(text))).toBe(false)
  })

  test('a line of our own stays as it is', () => {
    expect(logLine('Copying r.io/app:1 to q.io/app:1 (50%)')).toBe('Copying r.io/app:1 to q.io/app:1 (50%)')
  })

  test('plain escapes control characters and keeps the rest', () => {
    expect(plain('tab\there\u0000')).toBe('tab\\there\\u0000')
    expect(plain('x'.repeat(50), 10)).toBe(`${'x'.repeat(10)}… (50 characters)`)
  })
})

describe("a registry's error body in a message", () => {
  test('its message and code are escaped and bounded', () => {
    const error = new RegistryError('push manifest', 'r.io/app:v1', 400, [
      { code: 'MANIFEST_INVALID', message: 'bad\n::error title=pwned::owned' },
      { code: 'X\n::set-output name=a::b', message: 'm'.repeat(10_000) }
    ])
    expect(readAsCommand(error.message)).toBe(false)
    expect(error.message).toContain('MANIFEST_INVALID: bad\\n::error title=pwned::owned')
    expect(error.message).toContain('"X\\n::set-output name=a::b"')
    expect(error.message.length).toBeLessThan(1000)
    // The data stays as the registry sent it, for code that decides by it.
    expect(error.details[0].message).toBe('bad\n::error title=pwned::owned')
  })

  test('thousands of entries: the first few shown, the rest counted', () => {
    const details = Array.from({ length: 5000 }, (_, i) => ({ code: 'DENIED', message: `no ${i}` }))
    const error = new RegistryError('push manifest', 'r.io/app:v1', 403, details)
    expect(error.message).toContain('and 4995 more errors')
    expect(error.message.length).toBeLessThan(500)
  })
})

describe('a step summary cell', () => {
  test('pipes, backticks, HTML and control characters stay text', () => {
    expect(cell('a|b `c` <img src=x> \u001b[0m\nnext')).toBe('a\\|b \\`c\\` &lt;img src=x&gt; \\\\u001b[0m next')
  })
})

describe('names read from an archive', () => {
  const digest = `sha256:${'c'.repeat(64)}`
  const image = (name: string): ArchiveImage => ({
    name,
    descriptor: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 10 }
  })

  const prefix: ArchiveDestination = { kind: 'prefix', prefix: '127.0.0.1:5000/org/' }
  const untagged: ArchiveDestination = { kind: 'exact', endpoint: parseEndpoint('127.0.0.1:5000/org/app') }
  const plan = (name: string, destination: ArchiveDestination) =>
    planArchivePushes('/tmp/a.tar', [image(name)], { platforms: [], destinations: [destination] })

  test.each([
    ['app:../../victim', 'prefix', true],
    // No tag (the last `:` is before a `/`): pushed by digest, the name unused.
    ['app:../../victim', 'untagged', false],
    ['app:v1/../../x', 'prefix', true],
    ['app:v1\n::error::x', 'prefix', true],
    ['app:v1\n::error::x', 'untagged', true],
    ['../victim/app:v1', 'prefix', true],
    // Only its tag names the destination: the repository part is never used.
    ['../victim/app:v1', 'untagged', false],
    ['Org/App:v1', 'prefix', true],
    ['Org/App:v1', 'untagged', false],
    ['team/app:v1', 'prefix', false],
    ['team/app:v1', 'untagged', false]
  ] as const)('a RepoTags or ref.name of %j under a %s destination: refused %s', (name, kind, refused) => {
    const attempt = () => plan(name, kind === 'prefix' ? prefix : untagged)
    if (refused) {
      expect(attempt).toThrow(/does not follow the spec's grammar/)
      expect(attempt).not.toThrow(/\n/)
    } else {
      expect(attempt()[0].destinations).toHaveLength(1)
    }
  })

  test('a destination that names its tag takes the image whatever its name', () => {
    const [push] = planArchivePushes('/tmp/a.tar', [image('app:../../victim')], {
      platforms: [],
      destinations: [{ kind: 'exact', endpoint: parseEndpoint('127.0.0.1:5000/org/app:v2') }]
    })
    expect(push.destinations).toEqual([parseEndpoint('127.0.0.1:5000/org/app:v2')])
  })

  test('atTag refuses a tag outside the grammar', () => {
    expect(() => atTag(parseEndpoint('127.0.0.1:5000/org/app'), '../../x')).toThrow(/not a tag/)
    expect(atTag(parseEndpoint('127.0.0.1:5000/org/app'), 'v1')).toEqual(parseEndpoint('127.0.0.1:5000/org/app:v1'))
  })

  test('an entry described in an error shows its name escaped', () => {
    const text = describeEntry({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      size: 1,
      annotations: { 'org.opencontainers.image.ref.name': 'v1\n::error::x' }
    })
    expect(readAsCommand(text)).toBe(false)
  })
})
