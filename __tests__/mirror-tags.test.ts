import { describe, expect, test } from '@jest/globals'
import { ConfigProblem } from '../src/mirror/fields.js'
import { parseTags, selectTags, tagVersion, type TagFilter } from '../src/mirror/tags.js'

/** An nginx-like tag list, in the registry's (lexical) order. */
const TAGS = [
  '1.24.0',
  '1.25.0',
  '1.25.3',
  '1.25.3-alpine',
  '1.25.4-rc',
  '1.26.0',
  '1.26.1-alpine',
  '1.26.2_build.1',
  '1.27.0-rc.1',
  '2.0.0',
  'latest',
  'rc',
  'stable',
  'v1.26.2'
]

/** The filter the config's `tags` mapping gives, as a user writes it. */
const filter = (tags: Record<string, unknown>): TagFilter => parseTags(tags, 'tags') as TagFilter

describe('tagVersion', () => {
  test.each([
    ['1.2.3', '1.2.3'],
    ['v1.2.3', '1.2.3'],
    ['1.25.3-alpine', '1.25.3-alpine'],
    ['1.2.3_build.5', '1.2.3'],
    ['v1.2.3-rc.1_sha.abc', '1.2.3-rc.1'],
    ['vv1.2.3', undefined],
    ['V1.2.3', undefined],
    ['1.2', undefined],
    ['1', undefined],
    ['1.2.3.4', undefined],
    ['01.2.3', undefined],
    ['latest', undefined],
    ['v', undefined]
  ])('%s', (tag, version) => {
    expect(tagVersion(tag)?.version).toBe(version)
  })

  test('_ stands for + (Helm): the build metadata is read', () => {
    expect(tagVersion('1.2.3_build.5')?.build).toEqual(['build', '5'])
  })
})

describe('selectTags', () => {
  test.each([
    ['allow is anchored: a prefix alone matches nothing', filter({ allow: ['1\\.25'] }), []],
    ['allow: the whole tag', filter({ allow: ['1\\.25\\..*'] }), ['1.25.0', '1.25.3', '1.25.3-alpine', '1.25.4-rc']],
    ['allow: any of several', filter({ allow: ['latest', 'stable'] }), ['latest', 'stable']],
    ['allow .* keeps every tag, in the registry order', filter({ allow: ['.*'] }), TAGS],
    ['deny rc drops only the tag rc', filter({ deny: ['rc'] }), TAGS.filter((t) => t !== 'rc')],
    ['deny .*rc.* drops every tag holding rc', filter({ deny: ['.*rc.*'] }), TAGS.filter((t) => !t.includes('rc'))],
    ['deny wins over allow', filter({ allow: ['1\\.25\\..*'], deny: ['.*-.*'] }), ['1.25.0', '1.25.3']],
    [
      'semver: prereleases are left out, v and _ are read, non-SemVer tags never match',
      filter({ semver: '>=1.25 <2' }),
      ['1.25.0', '1.25.3', '1.26.0', '1.26.2_build.1', 'v1.26.2']
    ],
    ['semver: a range naming a prerelease admits those of its version', filter({ semver: '>=1.27.0-rc.0 <2' }), ['1.27.0-rc.1']],
    [
      'semver with includePrerelease: variant tags count',
      filter({ semver: '>=1.25 <2', includePrerelease: true }),
      ['1.25.0', '1.25.3', '1.25.3-alpine', '1.25.4-rc', '1.26.0', '1.26.1-alpine', '1.26.2_build.1', '1.27.0-rc.1', 'v1.26.2']
    ],
    ['semver * is every release', filter({ semver: '*' }), ['1.24.0', '1.25.0', '1.25.3', '1.26.0', '1.26.2_build.1', '2.0.0', 'v1.26.2']],
    ['latest alone: the highest SemVer tags, highest first', filter({ latest: '2' }), ['2.0.0', '1.27.0-rc.1']],
    [
      'latest after semver; build metadata ranks above none, then v1.26.2',
      filter({ semver: '^1.25', latest: '3' }),
      ['1.26.2_build.1', 'v1.26.2', '1.26.0']
    ],
    ['latest after allow', filter({ allow: ['.*-alpine'], latest: '1' }), ['1.26.1-alpine']],
    ['latest after deny', filter({ deny: ['2\\..*', '.*-.*'], latest: '1' }), ['1.26.2_build.1']],
    ['latest larger than what is left', filter({ allow: ['1\\.24\\..*', 'latest'], latest: '5' }), ['1.24.0']],
    ['nothing matches', filter({ semver: '>=3' }), []],
    [
      'variant tags (-alpine) are SemVer prereleases: a plain range drops them',
      filter({ semver: '>=1.25 <2', allow: ['^1\\.2[5-9]\\.\\d+-alpine$'], deny: ['rc'], latest: '5' }),
      []
    ],
    [
      'variant tags with includePrerelease, highest first',
      filter({ semver: '>=1.25 <2', includePrerelease: true, allow: ['^1\\.2[5-9]\\.\\d+-alpine$'], deny: ['rc'], latest: '5' }),
      ['1.26.1-alpine', '1.25.3-alpine']
    ]
  ])('%s', (_name, selection, expected) => {
    expect(selectTags(TAGS, selection)).toEqual(expected)
  })

  test('the result follows the given order; a tag listed twice counts once', () => {
    expect(selectTags(['b', 'a', 'b', 'c'], filter({ deny: ['c'] }))).toEqual(['b', 'a'])
  })

  test('latest: equal versions are ordered by tag, whatever the input order', () => {
    expect(selectTags(['v1.0.0', '1.0.0'], filter({ latest: '2' }))).toEqual(['1.0.0', 'v1.0.0'])
    expect(selectTags(['1.0.0', 'v1.0.0'], filter({ latest: '2' }))).toEqual(['1.0.0', 'v1.0.0'])
  })

  test('exact: the listed tags as given, listed by the registry or not', () => {
    expect(selectTags(TAGS, { kind: 'exact', tags: ['stable', 'missing', '1.24.0'] })).toEqual(['stable', 'missing', '1.24.0'])
  })
})

describe('parseTags', () => {
  test('a list is exact, duplicates dropped, numbers as written', () => {
    expect(parseTags(['1.10', 'latest', '1.10'], 'tags')).toEqual({ kind: 'exact', tags: ['1.10', 'latest'] })
  })

  test('a mapping is a filter: patterns anchored, one string for a list of one, the range with its options', () => {
    const parsed = parseTags({ allow: '1\\..*', deny: ['rc', 'beta'], semver: '>=1.25 <2', includePrerelease: true, latest: '5' }, 'tags')
    expect(parsed.kind).toBe('filter')
    const f = parsed as TagFilter
    expect(f.allow.map((re) => re.source)).toEqual(['^(?:1\\..*)$'])
    expect(f.deny.map((re) => re.source)).toEqual(['^(?:rc)$', '^(?:beta)$'])
    expect(f.semver?.range).toBe('>=1.25.0-0 <2.0.0-0')
    expect(f.includePrerelease).toBe(true)
    expect(f.semver?.test('1.26.1-alpine')).toBe(true)
    expect(f.latest).toBe(5)
  })

  test.each([
    [
      'a string',
      'latest',
      'tags',
      'tags must be a list of tags or a mapping of filters (semver, includePrerelease, allow, deny, latest), not "latest"'
    ],
    ['an empty list', [], 'tags', 'tags is an empty list: give the tags to copy, or filters'],
    ['a bad tag', ['ok', '-bad'], 'tags[1]', 'tags[1] "-bad" is not a tag (letters, digits, _ . -, at most 128, not starting with . or -)'],
    ['an empty mapping', {}, 'tags', "tags has no filter: give semver, allow, deny or latest (allow: ['.*'] selects every tag)"],
    [
      'an unknown filter',
      { semverRange: '^1' },
      'tags.semverRange',
      'tags.semverRange is not a known key (use semver, includePrerelease, allow, deny, latest)'
    ],
    [
      'a pattern escaping its anchors',
      { allow: ['a)|(b'] },
      'tags.allow[0]',
      `tags.allow[0] "a)|(b" is not a regular expression: Unmatched ')'`
    ],
    ['a bad pattern given alone', { deny: '(' }, 'tags.deny', 'tags.deny "(" is not a regular expression: Unterminated group'],
    [
      'a range semver cannot read',
      { semver: '>=1.x.y' },
      'tags.semver',
      'tags.semver ">=1.x.y" is not a SemVer range (as npm\'s semver reads it, e.g. ">=1.25 <2", "^19" or "~1.2")'
    ],
    ['latest 0', { latest: '0' }, 'tags.latest', 'tags.latest must be a whole number of at least 1, not "0"'],
    ['latest not a number', { latest: 'five' }, 'tags.latest', 'tags.latest must be a whole number of at least 1, not "five"'],
    [
      'includePrerelease alone',
      { latest: '2', includePrerelease: true },
      'tags.includePrerelease',
      'tags.includePrerelease works with tags.semver only'
    ],
    [
      'includePrerelease not a boolean',
      { semver: '*', includePrerelease: 'yes' },
      'tags.includePrerelease',
      'tags.includePrerelease must be true or false, not "yes"'
    ]
  ])('%s is refused, naming the key', (_name, value, key, message) => {
    let error: unknown
    try {
      parseTags(value, 'tags')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigProblem)
    expect((error as ConfigProblem).key).toBe(key)
    expect((error as ConfigProblem).message).toBe(message)
  })
})
