/**
 * Where an artifact is read from or written to: a repository on a registry, or a local OCI image
 * layout directory (image-spec image-layout.md) written `./dir:tag`, `/abs/dir@sha256:…`.
 */
import { resolve } from 'node:path'
import { isDigest } from './digest.js'
import { InvalidReferenceError } from './errors.js'
import { formatReference, isTag, parseReference, repositoryName, type Reference } from './reference.js'
import { shown } from './escape.js'

export interface RegistryEndpoint {
  kind: 'registry'
  reference: Reference
}

export interface LayoutEndpoint {
  kind: 'layout'
  /** The directory (or archive file) as given. */
  path: string
  tag?: string
  digest?: string
  /**
   * A path ending in `.tar`, `.tar.gz` or `.tgz` is one archive file (`docker save` as Docker 25
   * writes it), a destination only; `./dir.tar/` with a trailing `/` is still a directory.
   */
  archive?: 'tar' | 'tar.gz'
  /** The image's full name in an archive (`docker.io/library/nginx`): the source's, or a mirror pair's. */
  imageName?: string
}

/** A local path written as one archive file: `.tar`, or gzip'd `.tar.gz` / `.tgz`. */
export function archiveFormat(path: string): LayoutEndpoint['archive'] {
  if (/\.(?:tar\.gz|tgz)$/i.test(path)) return 'tar.gz'
  if (/\.tar$/i.test(path)) return 'tar'
  return undefined
}

/**
 * One artifact read from a local file the action opened itself — an image of an archive
 * (`archive`), or what it packaged (`path`) — by its root digest: a source only.
 */
export interface ArchiveEndpoint {
  kind: 'archive' | 'package'
  path: string
  digest: string
}

export type Endpoint = RegistryEndpoint | LayoutEndpoint | ArchiveEndpoint

/** An archive's image or a package: opened by the action, read only. */
export function isOpenedLocally(endpoint: Endpoint): endpoint is ArchiveEndpoint {
  return endpoint.kind === 'archive' || endpoint.kind === 'package'
}

/** Local paths start with `/`, `./` or `../`; anything else is a registry reference. */
export function isLocalPath(text: string): boolean {
  return text.startsWith('/') || text.startsWith('./') || text.startsWith('../')
}

/** A registry reference or a local layout path, as the inputs take them. */
export function parseEndpoint(text: string): Endpoint {
  const trimmed = text.trim()
  return isLocalPath(trimmed) ? parseLayoutPath(trimmed) : { kind: 'registry', reference: parseReference(trimmed) }
}

/** `dir`, `dir:tag` or `dir@sha256:…`: a `:` after the last `/` starts the tag. */
export function parseLayoutPath(text: string): LayoutEndpoint {
  let path = text
  let digest: string | undefined
  let tag: string | undefined
  const at = path.lastIndexOf('@')
  if (at > path.lastIndexOf('/')) {
    digest = path.slice(at + 1)
    path = path.slice(0, at)
    if (!isDigest(digest)) throw new InvalidReferenceError(text, `${shown(digest)} is not a digest (expected sha256: and 64 hex digits)`)
  }
  const colon = path.lastIndexOf(':')
  if (colon > path.lastIndexOf('/')) {
    tag = path.slice(colon + 1)
    path = path.slice(0, colon)
    if (!isTag(tag)) throw new InvalidReferenceError(text, `${shown(tag)} is not a valid tag`)
  }
  if (path === '' || path === '.' || path === './') throw new InvalidReferenceError(text, 'the layout directory is missing')
  const archive = archiveFormat(path)
  return { kind: 'layout', path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), ...(archive ? { archive } : {}) }
}

export function endpointTag(endpoint: Endpoint): string | undefined {
  if (isOpenedLocally(endpoint)) return undefined
  return endpoint.kind === 'registry' ? endpoint.reference.tag : endpoint.tag
}

export function endpointDigest(endpoint: Endpoint): string | undefined {
  return endpoint.kind === 'registry' ? endpoint.reference.digest : endpoint.digest
}

/** The same place with `tag` (or none) and no digest. */
export function atTag(endpoint: Endpoint, tag: string | undefined): Endpoint {
  // Tags from an archive or a registry arrive here: only the spec's grammar goes on to a URL or a file.
  if (tag !== undefined && tag !== '' && !isTag(tag)) throw new InvalidReferenceError(tag, "it is not a tag by the spec's grammar")
  if (endpoint.kind === 'registry') {
    const { digest: _digest, tag: _tag, ...rest } = endpoint.reference
    return { kind: 'registry', reference: { ...rest, ...(tag ? { tag } : {}) } }
  }
  if (isOpenedLocally(endpoint)) return endpoint
  const { tag: _tag, digest: _digest, ...place } = endpoint
  return { ...place, ...(tag ? { tag } : {}) }
}

/** One key per store: blobs written once per key. */
export function storeKey(endpoint: Endpoint): string {
  return endpoint.kind === 'registry' ? repositoryName(endpoint.reference) : `${endpoint.kind}:${resolve(endpoint.path)}`
}

/** `registry/repo:tag`, `registry/repo@digest`, `./dir:tag`: for outputs and messages. */
export function formatEndpoint(endpoint: Endpoint): string {
  if (endpoint.kind === 'registry') return formatReference(endpoint.reference)
  if (isOpenedLocally(endpoint)) return `${endpoint.path}@${endpoint.digest}`
  return `${endpoint.path}${endpoint.tag ? `:${endpoint.tag}` : ''}${endpoint.digest ? `@${endpoint.digest}` : ''}`
}

/** The same place, pinned to `digest` (for a destination written by digest alone). */
export function atDigest(endpoint: Endpoint, digest: string): Endpoint {
  return endpoint.kind === 'registry' ? { kind: 'registry', reference: { ...endpoint.reference, digest } } : { ...endpoint, digest }
}
