/**
 * Registry references: `[scheme://][host[:port]/]repository[:tag][@algorithm:hex]`.
 *
 * The grammar follows distribution's reference package (the one `docker` and every registry use):
 * the first path component is a host only when it has a `.` or a `:`, is `localhost`, or is an
 * IPv6 literal in brackets; otherwise the reference is a Docker Hub shorthand.
 */
import { isDigest } from './digest.js'
import { InvalidReferenceError } from './errors.js'
import { shown } from './escape.js'

/** How the user wrote the reference's origin; `oci://` selects Helm's credentials first (later). */
export type ReferenceScheme = 'oci' | 'docker' | 'http' | 'https'

export interface Reference {
  /** Registry as users name it: `docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`. */
  readonly registry: string
  /** Repository path inside the registry, lowercase: `library/nginx`. */
  readonly repository: string
  readonly tag?: string
  readonly digest?: string
  readonly scheme?: ReferenceScheme
}

export const DOCKER_HUB = 'docker.io'
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])
const DOCKER_HUB_API_HOST = 'registry-1.docker.io'

const SCHEMES: ReadonlySet<string> = new Set(['oci', 'docker', 'http', 'https'])
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\]$/
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^\w[\w.-]{0,127}$/
const MAX_NAME_LENGTH = 255

/**
 * Whether `text` is a tag by the distribution spec's grammar, `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`:
 * the only tags that may become a URL path segment, a file name or a log line (no `/`, no `..`
 * at the start, no newline).
 */
export function isTag(text: string): boolean {
  return TAG.test(text)
}

/**
 * Whether `text` is a repository name by the distribution spec's grammar: path components of
 * lowercase letters and digits joined by `.`, `_`, `__` or dashes, separated by `/`, at most
 * 255 characters (so never `..`, an empty component or a leading `/`).
 */
export function isRepositoryName(text: string): boolean {
  return text.length > 0 && text.length <= MAX_NAME_LENGTH && text.split('/').every((component) => PATH_COMPONENT.test(component))
}

/** Parses a registry reference; throws {@link InvalidReferenceError} saying what is wrong. */
export function parseReference(text: string): Reference {
  const fail = (problem: string): never => {
    throw new InvalidReferenceError(text, problem)
  }
  let rest = text.trim()
  if (rest === '') fail('it is empty')

  let scheme: ReferenceScheme | undefined
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(rest)
  if (schemeMatch) {
    const name = schemeMatch[1].toLowerCase()
    if (!SCHEMES.has(name)) fail(`unknown scheme ${shown(`${name}://`)} (use oci://, https://, http:// or none)`)
    scheme = name as ReferenceScheme
    rest = rest.slice(schemeMatch[0].length)
  }

  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!isDigest(digest)) fail(`${shown(digest)} is not a digest (expected sha256: and 64 hex digits)`)
  }

  let registry = DOCKER_HUB
  const slash = rest.indexOf('/')
  const first = slash > 0 ? rest.slice(0, slash) : ''
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    registry = parseHost(first, fail)
    rest = rest.slice(slash + 1)
  } else if (scheme === 'http' || scheme === 'https') {
    fail(`${scheme}:// needs a registry host before the repository`)
  }

  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon >= 0) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) fail(`${shown(tag)} is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`)
  }

  let repository = rest
  if (repository === '') fail('the repository name is missing')
  if (repository !== repository.toLowerCase()) fail('repository names must be lowercase')
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      fail(`${shown(component)} is not a valid repository path component (lowercase letters, digits, and . _ - between them)`)
    }
  }
  if (DOCKER_HUB_ALIASES.has(registry)) {
    registry = DOCKER_HUB
    if (!repository.includes('/')) repository = `library/${repository}`
  }
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) fail(`the name is longer than ${MAX_NAME_LENGTH} characters`)

  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), ...(scheme ? { scheme } : {}) }
}

function parseHost(host: string, fail: (problem: string) => never): string {
  let name = host
  let port: string | undefined
  const portMatch = /^(.*):([^:\]]*)$/.exec(host)
  if (portMatch && !(host.startsWith('[') && !host.includes(']:'))) {
    name = portMatch[1]
    port = portMatch[2]
    const n = Number(port)
    if (!/^\d+$/.test(port) || n < 1 || n > 65535) fail(`${shown(port)} is not a valid port`)
  }
  const valid = IPV6_HOST.test(name) || name.split('.').every((label) => DOMAIN_COMPONENT.test(label))
  if (!valid) fail(`${shown(name)} is not a valid registry host`)
  return (port ? `${name}:${port}` : name).toLowerCase()
}

/** `registry/repository[:tag][@digest]`, the canonical form used in outputs and messages. */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`
}

/** `name:tag` or `name@digest`: a tag or digest inside a repository called `name`, for messages. */
export function showReference(name: string, tagOrDigest: string): string {
  return `${name}${isDigest(tagOrDigest) ? '@' : ':'}${tagOrDigest}`
}

/** Tag used when a source names neither tag nor digest, as `docker pull` does. */
export const DEFAULT_TAG = 'latest'

/** The reference itself when it names a tag or digest, else the same with {@link DEFAULT_TAG}. */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag || ref.digest ? ref : { ...ref, tag: DEFAULT_TAG }
}

/** The repository without tag or digest: `registry/repository`. */
export function repositoryName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`
}

export function sameRepository(a: Reference, b: Reference): boolean {
  return a.registry === b.registry && a.repository === b.repository
}

/** Host (and port) that serves the registry API: Docker Hub's API lives on its own host. */
export function apiHost(ref: Reference): string {
  return ref.registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : ref.registry
}

/** The hostname alone: no port, no IPv6 brackets. */
export function hostname(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'))
  const colon = registry.lastIndexOf(':')
  return colon >= 0 ? registry.slice(0, colon) : registry
}

/** `localhost`, 127.0.0.0/8 and ::1: registries on them speak plain HTTP unless told otherwise. */
export function isLoopback(registry: string): boolean {
  const host = hostname(registry)
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/**
 * Base URL of the registry API. Plain HTTP when forced (`plainHttp`), when the reference says
 * `http://`, or for loopback hosts unless the reference says `https://`.
 */
export function registryOrigin(ref: Reference, plainHttp: boolean): string {
  const plain = plainHttp || ref.scheme === 'http' || (ref.scheme !== 'https' && isLoopback(ref.registry))
  return `${plain ? 'http' : 'https'}://${apiHost(ref)}`
}
