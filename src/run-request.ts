/**
 * The request model both front ends build: every parameter of a run (named as the action's inputs
 * are, the CLI's flags mapped onto them) read once into typed values and checked; everything past
 * this file takes those values. Neither front end owns it: the action reads its inputs through
 * it, the CLI its flags and arguments. Errors name the parameter as data (`InputError.input`), which
 * each front end renders in its own words (the input's name, or the flag).
 */
import { readFileSync } from 'node:fs'
import type { CredentialEntry } from './auth/credentials.js'
import { InputError, InvalidReferenceError } from './errors.js'
import { withDefaultTag } from './reference.js'
import { shown } from './escape.js'
import { given, param, phrase } from './words.js'
import { archiveFormat, atTag, endpointDigest, isLocalPath, parseEndpoint, type Endpoint } from './endpoint.js'
import { parseArchiveInput, type ArchiveInput } from './archive/archive-paths.js'
import { parseSize } from './size.js'
import { AnnotationSyntaxError, parseAnnotations, type AnnotationRule } from './annotations.js'
import { parsePlatform, type PlatformSpec } from './platform.js'
import { loadMirrorConfig, type MirrorConfig } from './mirror/config.js'
import { parseShard, type Shard } from './mirror/shard.js'

export interface RunRequest {
  /** Has a tag or a digest: `latest` when the input named neither. Undefined when `archive` is given. */
  source?: Endpoint
  /** The `archive` input, expanded; empty when `srcRef` is given. */
  archives: ArchiveInput[]
  destinations: Endpoint[]
  /** `destRef` lines ending in `/` (with `archive` only): each image keeps its repository path under them. */
  prefixes: string[]
  /** `path`: a directory, file or Helm chart to package (instead of srcRef). */
  path?: string
  artifactType?: string
  /** `subject`: the manifest the packaged artifact refers to (a registry reference). */
  subject?: Endpoint
  /** `referrers`: also copy what refers to the source. */
  referrers: boolean
  /** SOURCE_DATE_EPOCH (reproducible builds set it): the mtime of packaged files. */
  sourceDateEpoch?: number
  /** Things said about the inputs that did not fail them (a tag's `+` written as `_`). */
  notices: string[]
  credentials: CredentialEntry[]
  /** Bytes; 0 refuses cross-repository copies; Infinity means no limit. */
  maxArtifactSize: number
  plainHttp: boolean
  /** The workflow token for ghcr.io (`githubToken`, default `github.token`); empty when not given. */
  githubToken: string
  /** Extra PEM roots from `caCert` (the text, or the file it names). */
  caCert?: string
  insecureSkipTLSVerify: boolean
  annotations: AnnotationRule[]
  platforms: PlatformSpec[]
  ociMediaTypes: boolean
  /** `mirror`: many repositories, instead of srcRef / archive / path (its entries name their destinations). */
  mirror?: MirrorConfig
  /** `shard`: this job's share of the mirror's pairs; every pair when undefined. */
  shard?: Shard
  /** `bundle`: the mirror's pairs written into this one archive file instead of registries. */
  bundle?: Endpoint
  /** `dryRun`: plan, write nothing. */
  dryRun: boolean
  /** `failFast`: a mirror stops at its first failed pair. */
  failFast: boolean
  /** `mirrorConcurrency`: mirror pairs in flight at once. */
  mirrorConcurrency: number
  /** Values to mask in logs. */
  secrets: string[]
}

/** Reads one input by its name in action.yml; `@actions/core`'s getInput in the action. */
export type InputReader = (name: string) => string

export const SIZE_LIMIT_ENV = 'MAX_OCI_PUSH_ARTIFACT_SIZE'
const DEFAULT_SIZE_LIMIT = '1GiB'

export const DEFAULT_MIRROR_CONCURRENCY = 4
export const MAX_MIRROR_CONCURRENCY = 64

export function parseRunRequest(read: InputReader, env: NodeJS.ProcessEnv): RunRequest {
  const archives = parseArchiveInput(read('archive'))
  const srcRef = read('srcRef').trim()
  const path = read('path').trim()
  const mirrorText = read('mirror')
  const mirror = mirrorText.trim() !== ''
  const given = [srcRef && 'srcRef', archives.length > 0 && 'archive', path && 'path', mirror && 'mirror'].filter(Boolean)
  if (given.length > 1) {
    const named = mirror ? 'mirror' : path ? 'path' : 'archive'
    throw new InputError(
      named,
      `give one of ${param('srcRef')}, ${param('archive')}, ${param('path')} and ${param('mirror')}, not ${given.map((name) => param(String(name))).join(' and ')}`
    )
  }
  const run = runInputs(read, mirror)
  const logins = loginInputs(read)
  const shared = {
    maxArtifactSize: parseSizeLimit(read('maxArtifactSize'), env),
    plainHttp: parseBoolean('plainHttp', read('plainHttp')),
    githubToken: read('githubToken').trim(),
    ...caCert(read('caCert')),
    insecureSkipTLSVerify: parseBoolean('insecureSkipTLSVerify', read('insecureSkipTLSVerify')),
    secrets: [logins.password, logins.srcPassword, read('githubToken').trim()].filter((s) => s !== ''),
    ...run
  }
  if (mirror) {
    const bundle = bundleInput(read('bundle'))
    const { config, credentials } = mirrorInputs(read, mirrorText, env, logins, bundle !== undefined)
    const none = { archives: [], destinations: [], prefixes: [], notices: [], annotations: [], platforms: [] }
    return { mirror: config, credentials, ...none, referrers: false, ociMediaTypes: false, ...(bundle ? { bundle } : {}), ...shared }
  }

  if (read('bundle').trim() !== '')
    throw new InputError(
      'bundle',
      `writes a ${param('mirror')} run into one archive; set ${param('mirror')} too, or give the archive as ${param('destRef')}`
    )
  const subjectText = read('subject').trim()
  if (subjectText && !path) throw new InputError('subject', `attaches what ${param('path')} packages; set ${param('path')} too`)
  const subject = subjectText ? parseSubject(subjectText) : undefined
  const source = archives.length > 0 || path ? undefined : parseSource(srcRef)
  const notices: string[] = []
  const destRef = read('destRef')
  const { destinations, prefixes } =
    subject && splitList(destRef).length === 0
      ? { destinations: [atTag(subject, undefined)], prefixes: [] }
      : parseDestinations(path ? helmTags(destRef, notices) : destRef, archives.length > 0)
  const artifactType = read('artifactType').trim()
  const credentialSource = source ?? subject
  const sourceRegistries = credentialSource?.kind === 'registry' ? [credentialSource.reference.registry] : []
  // Prefixes (`host/org/`, an archive's images under it) are destinations too: their registries get the login.
  const destinationRegistries = [...destinations, ...prefixes.map((prefix) => parseEndpoint(`${prefix}x`))].flatMap((d) =>
    d.kind === 'registry' ? [d.reference.registry] : []
  )
  if (run.failFast)
    notices.push(`${param('failFast')} has no effect without ${param('mirror')}: a single copy stops at its first failure anyway`)

  return {
    ...(source ? { source } : {}),
    archives,
    ...(path ? { path } : {}),
    ...(artifactType ? { artifactType } : {}),
    ...(subject ? { subject } : {}),
    referrers: parseBoolean('referrers', read('referrers')),
    ...sourceDateEpoch(env),
    destinations,
    prefixes,
    notices,
    credentials: credentialEntries(logins, sourceRegistries, destinationRegistries),
    annotations: annotations(read('annotations')),
    platforms: platforms(read('platforms')),
    ociMediaTypes: parseBoolean('ociMediaTypes', read('ociMediaTypes')),
    ...shared
  }
}

/** `dryRun`, `failFast`, `mirrorConcurrency` and `shard` (which splits a mirror only). */
function runInputs(read: InputReader, mirror: boolean): Pick<RunRequest, 'dryRun' | 'failFast' | 'mirrorConcurrency' | 'shard'> {
  const shardText = read('shard').trim()
  if (shardText && !mirror)
    throw new InputError('shard', `splits a mirror run over a job matrix; set ${param('mirror')} too, or drop ${param('shard')}`)
  const shard = parseShard(shardText)
  return {
    ...(shard ? { shard } : {}),
    dryRun: parseBoolean('dryRun', read('dryRun')),
    failFast: parseBoolean('failFast', read('failFast')),
    mirrorConcurrency: mirrorConcurrency(read('mirrorConcurrency'))
  }
}

function mirrorConcurrency(text: string): number {
  const value = text.trim()
  if (value === '') return DEFAULT_MIRROR_CONCURRENCY
  const count = /^\d+$/.test(value) ? Number(value) : NaN
  if (!(count >= 1 && count <= MAX_MIRROR_CONCURRENCY)) {
    throw new InputError(
      'mirrorConcurrency',
      `"${value}" is not a whole number from 1 to ${MAX_MIRROR_CONCURRENCY} (mirror pairs copied at once)`
    )
  }
  return count
}

/** Inputs of a single copy that a mirror config gives per entry (or under `defaults`) instead. */
const PER_ENTRY_INPUTS = ['annotations', 'platforms', 'referrers', 'ociMediaTypes'] as const

/**
 * `mirror`: the config (inline, or a file under the workspace), and the credential inputs for the
 * registries it names. Inputs that only a single copy reads are refused rather than ignored.
 */
function mirrorInputs(
  read: InputReader,
  text: string,
  env: NodeJS.ProcessEnv,
  logins: Logins,
  bundle: boolean
): { config: MirrorConfig; credentials: CredentialEntry[] } {
  for (const name of ['destRef', 'subject', 'artifactType']) {
    if (read(name).trim() !== '')
      throw new InputError(name, `is not used with ${param('mirror')}: each mirror entry names its source and destination`)
  }
  for (const name of PER_ENTRY_INPUTS) {
    const value = read(name).trim()
    if (value !== '' && value !== 'false')
      throw new InputError(name, `is not used with ${param('mirror')}: set ${name} in the mirror config, on an entry or under defaults`)
  }
  const config = loadMirrorConfig(text, env.GITHUB_WORKSPACE || process.cwd(), { bundle })
  const sources = [...new Set(config.entries.map((e) => e.source.registry))]
  if (logins.srcUsername && sources.length > 1) {
    throw new InputError(
      'srcUsername',
      `the mirror reads from ${sources.length} registries (${sources.join(', ')}) and one login would be sent to each; for each registry, ${phrase('login-first')} instead`
    )
  }
  // Into a bundle, nothing is written to a registry: the login (if any) reads the sources.
  const destinations = bundle ? [] : config.entries.map((e) => e.destination.registry)
  return { config, credentials: credentialEntries(logins, sources, destinations) }
}

/** `bundle`: a path ending in `.tar`, `.tar.gz` or `.tgz`, written as one archive file. */
function bundleInput(text: string): Endpoint | undefined {
  const value = text.trim()
  if (value === '') return undefined
  if (!archiveFormat(value))
    throw new InputError('bundle', `${shown(value)} is not an archive file name: give a path ending in .tar, .tar.gz or .tgz`)
  const bundle = endpoint('bundle', isLocalPath(value) ? value : `./${value}`)
  if (bundle.kind !== 'layout' || bundle.tag || bundle.digest)
    throw new InputError('bundle', `${shown(value)} names a tag; give the archive's path alone`)
  return bundle
}

interface Logins {
  username: string
  password: string
  srcUsername: string
  srcPassword: string
}

function loginInputs(read: InputReader): Logins {
  const logins = {
    username: read('username').trim(),
    password: read('password'),
    srcUsername: read('srcUsername').trim(),
    srcPassword: read('srcPassword')
  }
  requirePair('username', logins.username, 'password', logins.password)
  requirePair('srcUsername', logins.srcUsername, 'srcPassword', logins.srcPassword)
  return logins
}

/**
 * srcUsername reads the sources' registries; username writes every destination registry, and
 * reads a source on one of them unless srcUsername is given.
 */
function credentialEntries(logins: Logins, sources: readonly string[], destinations: readonly string[]): CredentialEntry[] {
  const { username, password, srcUsername, srcPassword } = logins
  const credentials: CredentialEntry[] = []
  if (srcUsername) {
    const login = { username: srcUsername, password: srcPassword, origin: given('srcUsername') }
    for (const registry of new Set(sources)) credentials.push({ registry, role: 'source', credentials: login })
  }
  if (username) {
    const login = { username, password, origin: given('username') }
    for (const registry of new Set(destinations)) {
      credentials.push({ registry, role: 'destination', credentials: login })
      if (!srcUsername && sources.includes(registry)) credentials.push({ registry, role: 'source', credentials: login })
    }
  }
  return credentials
}

function annotations(text: string): AnnotationRule[] {
  try {
    return parseAnnotations(text)
  } catch (error) {
    // The line is data too: the action says `annotations line 2`, the CLI `--annotation #2`.
    if (error instanceof AnnotationSyntaxError) throw new InputError('annotations', `${shown(error.text)}: ${error.problem}`, error.line)
    throw error
  }
}

/** `os/arch[/variant]`, comma or newline separated. */
function platforms(text: string): PlatformSpec[] {
  return splitList(text).map(
    (item) =>
      parsePlatform(item) ?? fail('platforms', `"${item}" is not a platform: give os/arch[/variant], e.g. linux/arm64 or linux/arm/v7`)
  )
}

function fail(input: string, problem: string): never {
  throw new InputError(input, problem)
}

/** `caCert` is PEM text, or the path of a PEM file; either must hold a certificate. */
function caCert(text: string): { caCert?: string } {
  const value = text.trim()
  if (value === '') return {}
  let pem = value
  if (!value.startsWith('-----BEGIN')) {
    try {
      pem = readFileSync(value, 'utf8')
    } catch (error) {
      throw new InputError(
        'caCert',
        `"${value}" is neither PEM text nor a readable file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`
      )
    }
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new InputError(
      'caCert',
      'holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA certificate as PEM text or a path to a PEM file'
    )
  }
  return { caCert: pem }
}

function parseSource(text: string): Endpoint {
  if (text === '') {
    throw new InputError(
      'srcRef',
      'required (or archive, path or mirror): the registry reference of the artifact to copy, e.g. ghcr.io/org/app:v1.2.3'
    )
  }
  const source = endpoint('srcRef', text)
  // A registry source with neither tag nor digest is :latest; a layout without either is its only entry.
  return source.kind === 'registry' ? { kind: 'registry', reference: withDefaultTag(source.reference) } : source
}

function sourceDateEpoch(env: NodeJS.ProcessEnv): { sourceDateEpoch?: number } {
  const epoch = env.SOURCE_DATE_EPOCH?.trim()
  if (!epoch) return {}
  if (!/^\d+$/.test(epoch)) throw new InputError('SOURCE_DATE_EPOCH', `"${epoch}" is not a whole number of seconds since 1970`)
  return { sourceDateEpoch: Number(epoch) }
}

/** `subject`: a registry reference, by tag or digest. */
function parseSubject(text: string): Endpoint {
  const subject = endpoint('subject', text)
  if (subject.kind !== 'registry')
    throw new InputError('subject', `"${text}" is a local path; give the registry reference of the manifest to attach to`)
  return { kind: 'registry', reference: withDefaultTag(subject.reference) }
}

/**
 * With `path`, a destRef tag may carry SemVer build metadata (`1.0.0+build`): OCI tags cannot hold
 * `+`, so it is written `_`, as Helm does, and a notice says so.
 */
function helmTags(text: string, notices: string[]): string {
  return text
    .split('\n')
    .map((line) => {
      const match = /^(.*:)([^/:@]*\+[^/:@]*)$/.exec(line.trim())
      if (!match) return line
      const tag = match[2].replace(/\+/g, '_')
      notices.push(`${param('destRef')} tag ${match[2]} is written ${tag}: OCI tags cannot hold +, and Helm reads _ back as +`)
      return `${match[1]}${tag}`
    })
    .join('\n')
}

function parseDestinations(text: string, archive: boolean): { destinations: Endpoint[]; prefixes: string[] } {
  const lines = splitList(text)
  if (lines.length === 0)
    throw new InputError('destRef', 'required: one or more registry references to copy to, one per line, e.g. ghcr.io/org/app:latest')
  const destinations: Endpoint[] = []
  const prefixes: string[] = []
  for (const line of lines) {
    // A local path ending in / is a layout directory (`./images.tar/` too); a reference ending in / a prefix.
    if (line.endsWith('/') && !isLocalPath(line)) {
      if (!archive)
        throw new InputError('destRef', `"${line}" ends with /: a prefix for each image's own name works with ${param('archive')} only`)
      // Checked by parsing it with a repository under it.
      endpoint('destRef', `${line}x`)
      prefixes.push(line)
      continue
    }
    if (!isLocalPath(line) && archiveFormat(line) && !line.includes('/')) {
      throw new InputError('destRef', `${shown(line)} reads as a Docker Hub repository; write ./${line} for an archive file`)
    }
    const destination = endpoint('destRef', line)
    if (endpointDigest(destination)) {
      throw new InputError('destRef', `"${line}" names a digest; a destination takes a tag, or none to keep the source's`)
    }
    destinations.push(destination)
  }
  return { destinations, prefixes }
}

/**
 * Newline- or comma-separated values, trimmed, empties and `#` comments dropped: a whole line, or
 * the rest of a line after ` #` (a reference holds no blank, so a blank then `#` starts a comment).
 */
export function splitList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, ''))
    .join('\n')
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

function endpoint(input: string, text: string): Endpoint {
  try {
    return parseEndpoint(text)
  } catch (error) {
    if (error instanceof InvalidReferenceError) {
      throw new InputError(input, `${error.message} (e.g. ghcr.io/org/app:v1.2.3, or ./layout:v1 for a local OCI layout)`)
    }
    throw error
  }
}

function requirePair(userInput: string, user: string, passwordInput: string, password: string): void {
  if (user && !password) throw new InputError(passwordInput, `required when ${param(userInput)} is set`)
  if (!user && password) throw new InputError(userInput, `required when ${param(passwordInput)} is set`)
}

function parseBoolean(input: string, text: string): boolean {
  const value = text.trim().toLowerCase()
  if (value === '' || value === 'false') return false
  if (value === 'true') return true
  throw new InputError(input, `"${text.trim()}" is not a boolean; use true or false`)
}

function parseSizeLimit(text: string, env: NodeJS.ProcessEnv): number {
  const fromInput = text.trim()
  const fromEnv = env[SIZE_LIMIT_ENV]?.trim() ?? ''
  const [input, value] = fromInput
    ? ['maxArtifactSize', fromInput]
    : fromEnv
      ? [SIZE_LIMIT_ENV, fromEnv]
      : ['maxArtifactSize', DEFAULT_SIZE_LIMIT]
  const bytes = parseSize(value)
  if (bytes === undefined) {
    throw new InputError(
      input,
      `"${value}" is not a size: give bytes or a number with KiB, MiB, GiB (or KB, MB, GB); 0 disables cross-repository copies, -1 removes the limit`
    )
  }
  return bytes
}
