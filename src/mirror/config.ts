/**
 * The `mirror` input: which repositories to copy where, as YAML or JSON, inline or in a workspace
 * file. Everything is checked here, before anything is copied: the result is fully typed, and a
 * mistake is one line naming the entry and the key.
 */
import { readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseDocument } from 'yaml'
import { AnnotationSyntaxError, parseAnnotations, type AnnotationRule } from '../annotations.js'
import { isLocalPath } from '../endpoint.js'
import { InputError, InvalidReferenceError } from '../errors.js'
import { parsePlatform, type PlatformSpec } from '../platform.js'
import { parseReference, type Reference } from '../reference.js'
import { formatBytes } from '../size.js'
import { ConfigProblem, checkKeys, describe, isMap, readBoolean, readMap, readString, readStringList, type PlainMap } from './fields.js'
import { parseTags, type ExactTags, type TagFilter, type TagSelection } from './tags.js'
import { shown } from '../escape.js'

/** One entry of `mirrors`, with `defaults` applied. */
export interface MirrorEntry {
  /** 1-based position in `mirrors`, as messages name it. */
  index: number
  /** Docker Hub shorthand normalised; a tag or digest only when `selection` is `single`; `oci://` kept. */
  source: Reference
  /** A repository: no tag, no digest; `oci://` kept. */
  destination: Reference
  selection: TagSelection
  /** Empty: every platform. */
  platforms: PlatformSpec[]
  annotations: AnnotationRule[]
  referrers: boolean
  ociMediaTypes: boolean
}

export interface MirrorConfig {
  entries: MirrorEntry[]
  /** The file it was read from, as the input named it; undefined when inline. */
  file?: string
}

/** Where in the config a mistake is: the file, the entry (1-based) and its source as written, the key. */
export interface MirrorConfigPlace {
  file?: string
  entry?: number
  source?: string
  key?: string
}

/** A mistake in the `mirror` input: `mirror: [file: ][entry N (source): ]detail`. */
export class MirrorConfigError extends InputError {
  constructor(
    readonly detail: string,
    readonly place: MirrorConfigPlace = {}
  ) {
    const { file, entry, source } = place
    const label = entry === undefined ? undefined : `entry ${entry}${source ? ` (${source})` : ''}`
    super('mirror', [file, label, detail].filter((part) => part !== undefined).join(': '))
    this.name = 'MirrorConfigError'
  }
}

/** Larger configs are refused before they are read. */
export const MAX_CONFIG_BYTES = 1024 * 1024
export const MAX_ENTRIES = 10_000

const TOP_KEYS = ['defaults', 'mirrors'] as const
const OPTION_KEYS = ['tags', 'platforms', 'annotations', 'referrers', 'ociMediaTypes'] as const
const ENTRY_KEYS = ['source', 'destination', ...OPTION_KEYS] as const
const CONFIG_FILE = /\.(?:ya?ml|json)$/i

/** What `defaults` gives every entry; `tags` only to entries whose source is a repository. */
interface EntryOptions {
  tags?: ExactTags | TagFilter
  platforms: PlatformSpec[]
  annotations: AnnotationRule[]
  referrers: boolean
  ociMediaTypes: boolean
}

const NO_DEFAULTS: EntryOptions = { platforms: [], annotations: [], referrers: false, ociMediaTypes: false }

/**
 * Reads the `mirror` input: one line ending in `.yml`, `.yaml` or `.json` is a file (relative to
 * `workspace`); anything else is the config itself, YAML (JSON is YAML).
 */
export function loadMirrorConfig(input: string, workspace: string, options: ConfigOptions = {}): MirrorConfig {
  const text = input.trim()
  if (!text.includes('\n') && CONFIG_FILE.test(text)) return parseMirrorConfig(readConfigFile(text, workspace), text, options)
  return parseMirrorConfig(input, undefined, options)
}

export interface ConfigOptions {
  /**
   * The mirror writes one archive (`bundle`) instead of registries: an entry needs no
   * `destination`, its images are named by their source; a `destination` given names them instead.
   */
  bundle?: boolean
}

function readConfigFile(path: string, workspace: string): string {
  const full = resolve(workspace, path)
  const fail = (problem: string): never => {
    throw new MirrorConfigError(problem)
  }
  try {
    const stat = statSync(full)
    if (!stat.isFile()) fail(`${shown(path)} is not a file`)
    if (stat.size > MAX_CONFIG_BYTES)
      fail(`${shown(path)} is ${formatBytes(stat.size)}; a mirror config may be ${formatBytes(MAX_CONFIG_BYTES)} at most`)
    return readFileSync(full, 'utf8')
  } catch (error) {
    if (error instanceof MirrorConfigError) throw error
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') fail(`file ${shown(path)} not found (a relative path is read from the workspace, ${workspace})`)
    return fail(`cannot read ${shown(path)}: ${code ?? (error as Error).message}`)
  }
}

/** Parses and checks a mirror config; `file` is named in messages when it came from one. */
export function parseMirrorConfig(text: string, file?: string, options: ConfigOptions = {}): MirrorConfig {
  const fail = (detail: string): never => {
    throw new MirrorConfigError(detail, { file })
  }
  const bytes = Buffer.byteLength(text)
  if (bytes > MAX_CONFIG_BYTES) fail(`the config is ${formatBytes(bytes)}; a mirror config may be ${formatBytes(MAX_CONFIG_BYTES)} at most`)
  const root = readYaml(text, fail)
  if (root === null || root === undefined) fail('the config is empty: give mirrors, a list of entries with source and destination')
  if (!isMap(root)) fail(`the config must be a mapping with mirrors (and defaults), not ${describe(root)}`)
  const top = root as PlainMap
  const defaults = withKey(file, () => {
    // `x-` keys are the user's own (YAML anchors), as regsync reads them.
    checkKeys(top, TOP_KEYS, '', (key) => key.startsWith('x-'))
    return given(top.defaults)
      ? parseOptions(readMap(top.defaults, 'defaults', OPTION_KEYS.join(', ')), 'defaults.', NO_DEFAULTS)
      : NO_DEFAULTS
  })
  const list = top.mirrors
  if (!given(list)) fail('mirrors is missing: give a list of entries with source and destination')
  if (!Array.isArray(list)) fail(`mirrors must be a list of entries with source and destination, not ${describe(list)}`)
  const mirrors = list as unknown[]
  if (mirrors.length === 0) fail('mirrors is empty: give at least one entry with source and destination')
  if (mirrors.length > MAX_ENTRIES)
    fail(`mirrors has ${mirrors.length} entries; at most ${MAX_ENTRIES} are accepted (split them over several configs)`)
  return { entries: mirrors.map((entry, i) => parseEntryAt(entry, i + 1, defaults, file, options)), ...(file ? { file } : {}) }
}

/** YAML 1.2's core schema resolves these; without them a plain scalar such as `1.10` stays text. */
const NUMBER_TAGS: ReadonlySet<string> = new Set(['tag:yaml.org,2002:int', 'tag:yaml.org,2002:float'])

/** The YAML document as plain values; numbers stay as written (`1.10` is not `1.1`), so tags and ranges keep their text. */
function readYaml(text: string, fail: (detail: string) => never): unknown {
  const document = parseDocument(text, {
    customTags: (tags) => tags.filter((tag) => typeof tag === 'string' || !NUMBER_TAGS.has(tag.tag))
  })
  if (document.errors.length > 0) fail(`not valid YAML: ${document.errors[0].message.split('\n')[0].replace(/:$/, '')}`)
  try {
    return document.toJS({ maxAliasCount: 100 })
  } catch (error) {
    return fail(`not valid YAML: ${(error as Error).message.split('\n')[0]}`)
  }
}

/** Runs a check outside any entry, turning its problem into the input's error. */
function withKey<T>(file: string | undefined, check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof ConfigProblem) throw new MirrorConfigError(error.message, { file, key: error.key })
    throw error
  }
}

function parseEntryAt(
  value: unknown,
  index: number,
  defaults: EntryOptions,
  file: string | undefined,
  options: ConfigOptions
): MirrorEntry {
  const source = isMap(value) && typeof value.source === 'string' && value.source.trim() !== '' ? value.source.trim() : undefined
  try {
    if (!isMap(value)) throw new ConfigProblem('', `must be a mapping with source and destination, not ${describe(value)}`)
    return parseEntry(value, index, defaults, options)
  } catch (error) {
    if (!(error instanceof ConfigProblem)) throw error
    // A problem with the entry as a whole has no key: "entry 3: must be a mapping…".
    const detail = error.key === '' ? error.problem : error.message
    throw new MirrorConfigError(detail, { file, entry: index, ...(source ? { source } : {}), ...(error.key ? { key: error.key } : {}) })
  }
}

function parseEntry(map: PlainMap, index: number, defaults: EntryOptions, config: ConfigOptions): MirrorEntry {
  checkKeys(map, ENTRY_KEYS, '')
  if (!given(map.source)) throw new ConfigProblem('source', 'is missing: give the repository to copy from, or one tag or digest of it')
  if (!given(map.destination) && !config.bundle)
    throw new ConfigProblem(
      'destination',
      'is missing: give the repository to copy to, e.g. ghcr.io/org/mirror/nginx (or write the mirror into a bundle)'
    )
  const source = reference(readString(map.source, 'source', 'a registry reference'), 'source')
  // Into a bundle, an image without a destination keeps its source's name.
  const destinationText = given(map.destination)
    ? readString(map.destination, 'destination', 'a registry reference')
    : `${source.registry}/${source.repository}`
  const destination = reference(destinationText, 'destination')
  if (destination.tag || destination.digest) {
    const names = destination.digest ? 'a digest' : 'a tag'
    throw new ConfigProblem('destination', `${shown(destinationText)} names ${names}; give a repository: each tag keeps its name`)
  }
  const options = parseOptions(map, '', defaults)
  return { index, source, destination, selection: selection(map, source, options), ...withoutTags(options) }
}

function selection(map: PlainMap, source: Reference, options: EntryOptions): TagSelection {
  if (source.tag || source.digest) {
    if (given(map.tags))
      throw new ConfigProblem('tags', 'cannot be given with a source that names a tag or digest: drop tags, or name a repository')
    return { kind: 'single' }
  }
  if (!options.tags) {
    throw new ConfigProblem(
      'tags',
      "is missing for a repository source: list the tags, or give filters (semver, allow, deny, latest); allow: ['.*'] copies every tag"
    )
  }
  return options.tags
}

function withoutTags(options: EntryOptions): Omit<EntryOptions, 'tags'> {
  const { platforms, annotations, referrers, ociMediaTypes } = options
  return { platforms, annotations, referrers, ociMediaTypes }
}

/** The option keys of an entry or of `defaults`; each given key replaces the default's value (lists are not merged). */
function parseOptions(map: PlainMap, prefix: string, defaults: EntryOptions): EntryOptions {
  if (prefix) checkKeys(map, OPTION_KEYS, prefix)
  const tags = given(map.tags) ? parseTags(map.tags, `${prefix}tags`) : defaults.tags
  return {
    ...(tags ? { tags } : {}),
    platforms: given(map.platforms) ? platforms(map.platforms, `${prefix}platforms`) : defaults.platforms,
    annotations: given(map.annotations) ? annotations(map.annotations, `${prefix}annotations`) : defaults.annotations,
    referrers: given(map.referrers) ? readBoolean(map.referrers, `${prefix}referrers`) : defaults.referrers,
    ociMediaTypes: given(map.ociMediaTypes) ? readBoolean(map.ociMediaTypes, `${prefix}ociMediaTypes`) : defaults.ociMediaTypes
  }
}

/** An absent key and an empty one (`key:`, `key: null`) both mean "not given". */
function given(value: unknown): boolean {
  return value !== undefined && value !== null
}

function reference(text: string, key: string): Reference {
  if (isLocalPath(text)) throw new ConfigProblem(key, `${shown(text)} is a local path; mirror copies between registries`)
  try {
    return parseReference(text)
  } catch (error) {
    if (error instanceof InvalidReferenceError) throw new ConfigProblem(key, error.message)
    throw error
  }
}

/** A list of `os/arch[/variant]`, or one string of them separated by commas. */
function platforms(value: unknown, key: string): PlatformSpec[] {
  const items = typeof value === 'string' ? value.split(',') : value
  const texts = readStringList(items, key, 'os/arch[/variant] platforms')
  return texts.map((text, i) => {
    const platform = parsePlatform(text)
    if (!platform) {
      const where = Array.isArray(value) ? `${key}[${i}]` : key
      throw new ConfigProblem(where, `${shown(text)} is not a platform: give os/arch[/variant], e.g. linux/arm64 or linux/arm/v7`)
    }
    return platform
  })
}

/**
 * A list of `key=value` lines, or a mapping of key to value; either way each is read by the
 * `annotations` input's parser, so scopes (`index:`, `manifest[linux/arm64]:`) work the same.
 */
function annotations(value: unknown, key: string): AnnotationRule[] {
  const lines: { where: string; line: string }[] = isMap(value)
    ? Object.entries(value).map(([name, v]) => ({ where: `${key}.${name}`, line: annotationLine(name, v, `${key}.${name}`) }))
    : readStringList(value, key, 'key=value annotations').map((line, i) => ({ where: `${key}[${i}]`, line }))
  return lines.flatMap(({ where, line }) => {
    if (line.includes('\n')) throw new ConfigProblem(where, 'must be one line')
    try {
      return parseAnnotations(line)
    } catch (error) {
      if (error instanceof AnnotationSyntaxError) throw new ConfigProblem(where, `${shown(error.text)}: ${error.problem}`)
      throw error
    }
  })
}

function annotationLine(name: string, value: unknown, where: string): string {
  if (name.includes('=')) throw new ConfigProblem(where, 'is not an annotation key: a key cannot hold =')
  if (value !== null && typeof value !== 'string' && typeof value !== 'boolean') {
    throw new ConfigProblem(where, `must be a text value, not ${describe(value)}`)
  }
  return `${name}=${value === null ? '' : String(value)}`
}
