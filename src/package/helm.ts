/**
 * Helm charts as `helm package` and `helm push` make them (Helm docs, "Use OCI-based registries";
 * PEERS): `Chart.yaml` read with a real YAML parser, `.helmignore` rules as Helm's ignore package
 * reads them, the config as the chart metadata in JSON, and SemVer build metadata (`+`) written
 * as `_` in the tag.
 */
import { isMap, isScalar, parseDocument, type Document } from 'yaml'
import { InputError } from '../errors.js'
import type { Ignore } from './tree.js'

/** Chart metadata fields in the order Helm's Metadata struct marshals them. */
const METADATA_FIELDS = [
  'name',
  'home',
  'sources',
  'version',
  'description',
  'keywords',
  'maintainers',
  'icon',
  'apiVersion',
  'condition',
  'tags',
  'appVersion',
  'deprecated',
  'annotations',
  'kubeVersion',
  'dependencies',
  'type'
] as const

export interface ChartFile {
  document: Document
  name: string
  version: string
  description?: string
}

/** Parses Chart.yaml; name and version are required, as Helm requires them. */
export function parseChartYaml(text: string, where: string): ChartFile {
  const document = parseDocument(text)
  if (document.errors.length > 0) throw new InputError('path', `${where} is not valid YAML: ${document.errors[0].message.split('\n')[0]}`)
  if (!isMap(document.contents)) throw new InputError('path', `${where} is not a YAML mapping`)
  // Scalars as written: `version: 1.10` stays "1.10", not the number 1.1.
  const text_ = (key: string): string | undefined => {
    const node = document.get(key, true)
    if (node === undefined || node === null) return undefined
    return isScalar(node) ? String(node.source ?? node.value) : undefined
  }
  const name = text_('name')
  const version = text_('version')
  if (!name) throw new InputError('path', `${where} has no name`)
  if (!version) throw new InputError('path', `${where} has no version`)
  const description = text_('description')
  return { document, name, version, ...(description ? { description } : {}) }
}

/** The chart's metadata as the JSON config Helm pushes: its fields, in Helm's order, `version` as given. */
export function chartConfig(chart: ChartFile, version: string): Buffer {
  const values = chart.document.toJS() as Record<string, unknown>
  const config: Record<string, unknown> = {}
  for (const field of METADATA_FIELDS) {
    const value = field === 'version' ? version : field === 'name' ? chart.name : values[field]
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) continue
    config[field] = value
  }
  return Buffer.from(JSON.stringify(config))
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
