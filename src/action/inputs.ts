/**
 * Every action input is read here, once, into typed values; everything past this file takes those
 * values. Errors name the input and say what is wrong.
 */
import { readFileSync } from 'node:fs'
import type { CredentialEntry } from '../auth/credentials.js'
import { InputError, InvalidReferenceError } from '../errors.js'
import { withDefaultTag } from '../reference.js'
import { atTag, endpointDigest, parseEndpoint, type Endpoint } from '../endpoint.js'
import { parseArchiveInput, type ArchiveInput } from '../archive/archive-paths.js'
import { parseSize } from '../size.js'
import { AnnotationSyntaxError, parseAnnotations, type AnnotationRule } from '../annotations.js'
import { parsePlatform, type PlatformSpec } from '../platform.js'

export interface ActionInputs {
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
  /** Values to mask in logs. */
  secrets: string[]
}

/** Reads one input by its name in action.yml; `@actions/core`'s getInput in the action. */
export type InputReader = (name: string) => string

export const SIZE_LIMIT_ENV = 'MAX_OCI_PUSH_ARTIFACT_SIZE'
const DEFAULT_SIZE_LIMIT = '1GiB'

export function parseInputs(read: InputReader, env: NodeJS.ProcessEnv): ActionInputs {
  const archives = parseArchiveInput(read('archive'))
  const srcRef = read('srcRef').trim()
  const path = read('path').trim()
  const given = [srcRef && 'srcRef', archives.length > 0 && 'archive', path && 'path'].filter(Boolean)
  if (given.length > 1) throw new InputError(path ? 'path' : 'archive', `give one of srcRef, archive and path, not ${given.join(' and ')}`)
  const subjectText = read('subject').trim()
  if (subjectText && !path) throw new InputError('subject', 'attaches what path packages; set path too')
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
  const username = read('username').trim()
  const password = read('password')
  const srcUsername = read('srcUsername').trim()
  const srcPassword = read('srcPassword')
  requirePair('username', username, 'password', password)
  requirePair('srcUsername', srcUsername, 'srcPassword', srcPassword)

  const credentials: CredentialEntry[] = []
  if (srcUsername) {
    const login = { username: srcUsername, password: srcPassword, origin: 'the srcUsername input' }
    if (credentialSource?.kind === 'registry')
      credentials.push({ registry: credentialSource.reference.registry, role: 'source', credentials: login })
  }
  if (username) {
    const login = { username, password, origin: 'the username input' }
    const sourceRegistry = credentialSource?.kind === 'registry' ? credentialSource.reference.registry : undefined
    for (const registry of new Set(destinations.flatMap((d) => (d.kind === 'registry' ? [d.reference.registry] : [])))) {
      credentials.push({ registry, role: 'destination', credentials: login })
      // username/password also read the source when it lives on a destination's registry.
      if (!srcUsername && registry === sourceRegistry) credentials.push({ registry, role: 'source', credentials: login })
    }
  }

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
    credentials,
    maxArtifactSize: parseSizeLimit(read('maxArtifactSize'), env),
    plainHttp: parseBoolean('plainHttp', read('plainHttp')),
    githubToken: read('githubToken').trim(),
    ...caCert(read('caCert')),
    insecureSkipTLSVerify: parseBoolean('insecureSkipTLSVerify', read('insecureSkipTLSVerify')),
    annotations: annotations(read('annotations')),
    platforms: platforms(read('platforms')),
    ociMediaTypes: parseBoolean('ociMediaTypes', read('ociMediaTypes')),
    secrets: [password, srcPassword, read('githubToken').trim()].filter((s) => s !== '')
  }
}

function annotations(text: string): AnnotationRule[] {
  try {
    return parseAnnotations(text)
  } catch (error) {
    if (error instanceof AnnotationSyntaxError) throw new InputError('annotations', error.message)
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
      'required (or archive, or path): the registry reference of the artifact to copy, e.g. ghcr.io/org/app:v1.2.3'
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
      notices.push(`destRef tag ${match[2]} is written ${tag}: OCI tags cannot hold +, and Helm reads _ back as +`)
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
    if (line.endsWith('/')) {
      if (!archive) throw new InputError('destRef', `"${line}" ends with /: a prefix for each image's own name works with archive only`)
      // Checked by parsing it with a repository under it.
      endpoint('destRef', `${line}x`)
      prefixes.push(line)
      continue
    }
    const destination = endpoint('destRef', line)
    if (endpointDigest(destination)) {
      throw new InputError('destRef', `"${line}" names a digest; a destination takes a tag, or none to keep the source's`)
    }
    destinations.push(destination)
  }
  return { destinations, prefixes }
}

/** Newline- or comma-separated values, trimmed, empties and `#` comments dropped. */
export function splitList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'))
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
  if (user && !password) throw new InputError(passwordInput, `required when ${userInput} is set`)
  if (!user && password) throw new InputError(userInput, `required when ${passwordInput} is set`)
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
