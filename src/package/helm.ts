/**
 * Helm charts as `helm package` and `helm push` make them (Helm docs, "Use OCI-based registries";
 * PEERS): `Chart.yaml` read with a real YAML parser, `.helmignore` rules as Helm's ignore package
 * reads them, the config as the chart metadata typed as Helm's struct (helm-config.ts), versions
 * checked as Helm checks them, and SemVer build metadata (`+`) written as `_` in the tag.
 */
import { isMap, parseDocument, type Document } from 'yaml'
import { InputError } from '../errors.js'
import { marshal, readMetadata, type Metadata } from './helm-config.js'
import type { Ignore } from './tree.js'
import { param } from '../words.js'

export interface ChartFile {
  document: Document
  /** Chart.yaml as Helm's `chart.Metadata` holds it. */
  metadata: Metadata
  name: string
  version: string
  description?: string
  /** Where Chart.yaml was read, for errors. */
  where: string
}

/** Parses Chart.yaml; name and version are required, as Helm requires them. */
export function parseChartYaml(text: string, where: string): ChartFile {
  const document = parseDocument(text)
  if (document.errors.length > 0) throw new InputError('path', `${where} is not valid YAML: ${document.errors[0].message.split('\n')[0]}`)
  if (!isMap(document.contents)) throw new InputError('path', `${where} is not a YAML mapping`)
  const metadata = readMetadata(document, where)
  const field = (key: string) => metadata.get(key) as string | undefined
  const name = field('name')
  const version = field('version')
  if (!name) throw new InputError('path', `${where} has no name`)
  if (!version) throw new InputError('path', `${where} has no version`)
  const description = field('description')
  return { document, metadata, name, version, where, ...(description?.trim() ? { description } : {}) }
}

/**
 * The config blob: the chart's metadata with `version` as given, typed as Helm's struct
 * (helm-config.ts says where its bytes differ from what `helm push` writes).
 */
export function chartConfig(chart: ChartFile, version: string): Buffer {
  const metadata = new Map(chart.metadata)
  metadata.set('version', version)
  return Buffer.from(marshal(metadata))
}

/** Chart.yaml with `version` set: written into the package only, the file on disk untouched. */
export function withVersion(chart: ChartFile, version: string): Buffer {
  const copy = chart.document.clone()
  copy.set('version', version)
  return Buffer.from(copy.toString())
}

/** OCI tags cannot hold `+`: Helm writes SemVer build metadata with `_` (and reads it back). */
export function chartTag(version: string): string {
  return version.replace(/\+/g, '_')
}

/** A tag given with `_` for `+`, read back as the version it stands for. */
export function versionOfTag(tag: string): string {
  return tag.replace(/_/g, '+')
}

/**
 * A chart version as Helm checks it: Masterminds semver v3 `NewVersion`, which Helm's chart
 * validation, `helm package` and `helm pull --version` use. It is SemVer 2 with a leading `v` and
 * a missing minor or patch allowed (`v1.2.3`, `1.2`); each number fits 64 bits; a numeric
 * pre-release identifier has no leading zero.
 */
const HELM_VERSION = /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/
/** SemVer 2 itself (semver.org), Masterminds' `StrictNewVersion`: what Helm lists when it picks the newest tag. */
const STRICT_VERSION =
  /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-((?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/
const MAX_UINT64 = 2n ** 64n - 1n

function fits(numbers: Array<string | undefined>): boolean {
  return numbers.every((n) => n === undefined || BigInt(n.replace('.', '')) <= MAX_UINT64)
}

export function isChartVersion(version: string): boolean {
  const match = HELM_VERSION.exec(version)
  if (!match || !fits(match.slice(1, 4))) return false
  return !(match[4] ?? '').split('.').some((part) => /^0[0-9]+$/.test(part))
}

/** SemVer 2 exactly: `1.2.3`, no `v`, all three numbers. */
export function isStrictVersion(version: string): boolean {
  const match = STRICT_VERSION.exec(version)
  return match !== null && fits(match.slice(1, 4))
}

/**
 * The version a chart is pushed with: the tag destRef gives (`_` read as `+`), else Chart.yaml's.
 * Either must be a version Helm accepts; a tag such as `latest` is an error, not a chart whose
 * version is `latest`.
 */
export function chartVersion(chart: ChartFile, tag: string | undefined): { version: string; notices: string[] } {
  const version = tag === undefined ? chart.version : versionOfTag(tag)
  if (tag !== undefined) requireChartTag(tag)
  else if (!isChartVersion(version)) {
    throw new InputError(
      'path',
      `${chart.where}: version ${version} is not SemVer 2, which Helm requires of a chart (e.g. 1.2.3, 1.2.3-rc.1); fix it, or give ${param('destRef')} a version tag`
    )
  }
  const notices: string[] = []
  if (tag?.includes('_')) notices.push(`tag ${tag} stands for chart version ${version}, as Helm writes + in tags`)
  if (!isStrictVersion(version)) {
    notices.push(
      `chart version ${version} is not strict SemVer 2 (MAJOR.MINOR.PATCH): helm pull finds it by this version, but skips it when it picks the newest`
    )
  }
  return { version, notices }
}

/** A destRef tag a chart can be pushed under: its version, SemVer 2 as Helm reads it (`_` for `+`). */
export function requireChartTag(tag: string): void {
  if (isChartVersion(versionOfTag(tag))) return
  throw new InputError(
    'destRef',
    `the tag ${tag} is not a chart version: Helm needs SemVer 2 (e.g. 1.2.3, 1.2.3-rc.1, 1.2.3_build.5 for 1.2.3+build.5); give the version as tag, or no tag to use Chart.yaml's`
  )
}

/**
 * `.helmignore` as Helm reads it: one pattern per line, `#` comments, `!` negates, a trailing `/`
 * matches directories only; a pattern with a `/` matches the whole path, one without matches the
 * base name; `*`, `?` and `[…]` as in Go's filepath.Match. The last matching rule wins. Helm adds
 * `templates/.?*` (hidden files among templates).
 */
export function helmIgnore(text: string): Ignore {
  const rules = ['templates/.?*', ...text.split('\n')]
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!')
      let pattern = negate ? line.slice(1) : line
      const directoryOnly = pattern.endsWith('/')
      if (directoryOnly) pattern = pattern.slice(0, -1)
      pattern = pattern.replace(/^\//, '')
      return { negate, directoryOnly, whole: pattern.includes('/'), regex: globToRegex(pattern) }
    })
  return (path, directory) => {
    let ignored = false
    const base = path.slice(path.lastIndexOf('/') + 1)
    for (const rule of rules) {
      if (rule.directoryOnly && !directory) continue
      if (rule.regex.test(rule.whole ? path : base)) ignored = !rule.negate
    }
    return ignored
  }
}

function globToRegex(pattern: string): RegExp {
  let out = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') out += '[^/]*'
    else if (c === '?') out += '[^/]'
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1)
      if (end < 0) out += '\\['
      else {
        out += `[${pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`
        i = end
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  return new RegExp(`^${out}$`)
}
