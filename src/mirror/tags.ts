/**
 * Which tags of a source repository a mirror entry copies: an exact list, or filters applied in a
 * fixed order — `allow`, `deny`, `semver`, then `latest`. Ranges and versions are read by npm's
 * `semver` package, strictly (no `loose` mode, no coercion), so `>=1.25 <2` means here what it
 * means in a package.json.
 */
import { Range, compareBuild, parse, type SemVer } from 'semver'
import { isTag } from '../reference.js'
import { ConfigProblem, checkKeys, describe, readBoolean, readString, readStringList } from './fields.js'
import { shown } from '../escape.js'

/** The source names a tag or a digest: that one reference is copied, no tag list is read. */
export interface SingleReference {
  kind: 'single'
}

/** These tags, in this order, whether or not the registry lists them. */
export interface ExactTags {
  kind: 'exact'
  tags: string[]
}

/** Tags of the registry's list that pass every filter given. */
export interface TagFilter {
  kind: 'filter'
  /** Anchored (`^(?:re)$`): a tag is kept when one matches; none given keeps every tag. */
  allow: RegExp[]
  /** Anchored: a tag is dropped when one matches. */
  deny: RegExp[]
  /** Keeps SemVer tags inside the range (compiled with `includePrerelease`). */
  semver?: Range
  /** npm's option: prereleases (`1.25.3-alpine`) satisfy `semver` like releases; false unless given. */
  includePrerelease: boolean
  /** Keeps the N highest SemVer tags of what the other filters kept. */
  latest?: number
}

export type TagSelection = SingleReference | ExactTags | TagFilter

const FILTER_KEYS = ['semver', 'includePrerelease', 'allow', 'deny', 'latest'] as const

/**
 * Reads the `tags` key: a list of tags (exact), or a mapping of filters. `key` is where it was
 * found, for messages (`tags`, `defaults.tags`).
 */
export function parseTags(value: unknown, key: string): ExactTags | TagFilter {
  if (Array.isArray(value)) return exactTags(value, key)
  if (typeof value !== 'object' || value === null) {
    throw new ConfigProblem(key, `must be a list of tags or a mapping of filters (${FILTER_KEYS.join(', ')}), not ${describe(value)}`)
  }
  return tagFilter(value as Record<string, unknown>, key)
}

function exactTags(value: unknown[], key: string): ExactTags {
  if (value.length === 0) throw new ConfigProblem(key, 'is an empty list: give the tags to copy, or filters')
  const tags = readStringList(value, key, 'tags')
  tags.forEach((tag, i) => {
    if (!isTag(tag)) {
      throw new ConfigProblem(`${key}[${i}]`, `${shown(tag)} is not a tag (letters, digits, _ . -, at most 128, not starting with . or -)`)
    }
  })
  return { kind: 'exact', tags: [...new Set(tags)] }
}

function tagFilter(map: Record<string, unknown>, key: string): TagFilter {
  checkKeys(map, FILTER_KEYS, `${key}.`)
  const given = (name: string): boolean => map[name] !== undefined && map[name] !== null
  if (!FILTER_KEYS.some((name) => name !== 'includePrerelease' && given(name))) {
    throw new ConfigProblem(key, `has no filter: give semver, allow, deny or latest (allow: ['.*'] selects every tag)`)
  }
  if (given('includePrerelease') && !given('semver')) {
    throw new ConfigProblem(`${key}.includePrerelease`, `works with ${key}.semver only`)
  }
  const includePrerelease = given('includePrerelease') ? readBoolean(map.includePrerelease, `${key}.includePrerelease`) : false
  return {
    kind: 'filter',
    allow: given('allow') ? patterns(map.allow, `${key}.allow`) : [],
    deny: given('deny') ? patterns(map.deny, `${key}.deny`) : [],
    includePrerelease,
    ...(given('semver') ? { semver: range(map.semver, `${key}.semver`, includePrerelease) } : {}),
    ...(given('latest') ? { latest: count(map.latest, `${key}.latest`) } : {})
  }
}

/**
 * Regular expressions matched against the whole tag. Each is compiled alone first, so a pattern
 * such as `a)|(b` is refused instead of escaping the anchors wrapped around it.
 */
function patterns(value: unknown, key: string): RegExp[] {
  const sources = readStringList(value, key, 'regular expressions')
  return sources.map((source, i) => {
    const where = typeof value === 'string' ? key : `${key}[${i}]`
    try {
      new RegExp(source)
    } catch (error) {
      const reason = /\/: (.*)$/.exec((error as Error).message)?.[1] ?? (error as Error).message
      throw new ConfigProblem(where, `${shown(source)} is not a regular expression: ${reason}`)
    }
    return new RegExp(`^(?:${source})$`)
  })
}

function range(value: unknown, key: string, includePrerelease: boolean): Range {
  const text = readString(value, key, 'a SemVer range')
  try {
    return new Range(text, { includePrerelease })
  } catch {
    throw new ConfigProblem(key, `${shown(text)} is not a SemVer range (as npm's semver reads it, e.g. ">=1.25 <2", "^19" or "~1.2")`)
  }
}

function count(value: unknown, key: string): number {
  const text = typeof value === 'number' ? String(value) : value
  if (typeof text !== 'string' || !/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new ConfigProblem(key, `must be a whole number of at least 1, not ${describe(value)}`)
  }
  return Number(text)
}

/**
 * The SemVer version a tag names, or undefined. `_` stands for `+` (Helm writes build metadata so,
 * OCI tags cannot hold `+`); one leading `v` is accepted (`v1.2.3`); nothing else is coerced:
 * `1.2`, `latest` and `1.2.3.4` are not versions.
 */
export function tagVersion(tag: string): SemVer | undefined {
  const bare = tag.startsWith('v') ? tag.slice(1) : tag
  if (!/^\d/.test(bare)) return undefined
  return parse(bare.replace(/_/g, '+'), { loose: false }) ?? undefined
}

/**
 * The tags an entry copies, from the repository's tag list. Exact: the listed tags as given.
 * Filters: `allow`, `deny`, `semver`, then `latest`; the result keeps the order of `allTags` (the
 * registry's, lexical by the distribution spec), except with `latest`: highest version first.
 * Duplicates in `allTags` count once.
 */
export function selectTags(allTags: readonly string[], selection: ExactTags | TagFilter): string[] {
  if (selection.kind === 'exact') return [...selection.tags]
  const { allow, deny, semver, latest } = selection
  const kept = [...new Set(allTags)].filter(
    (tag) => (allow.length === 0 || allow.some((re) => re.test(tag))) && !deny.some((re) => re.test(tag))
  )
  const versioned = semver ? kept.filter((tag) => inRange(tag, semver)) : kept
  return latest === undefined ? versioned : highest(versioned, latest)
}

function inRange(tag: string, range: Range): boolean {
  const version = tagVersion(tag)
  return version !== undefined && range.test(version)
}

/** The `count` highest SemVer tags, highest first; equal versions (`v1.0.0`, `1.0.0`) by tag text. */
function highest(tags: string[], count: number): string[] {
  return tags
    .flatMap((tag) => {
      const version = tagVersion(tag)
      return version ? [{ tag, version }] : []
    })
    .sort((a, b) => compareBuild(b.version, a.version) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
    .slice(0, count)
    .map(({ tag }) => tag)
}
