/**
 * Which images of an archive go where (DESIGN §5): `destRef` with a tag takes exactly one image;
 * without a tag it is the repository for each image's own tag; ending in `/` it is a prefix under
 * which each image keeps its own repository path. Pure: names in, endpoints out.
 */
import { atTag, endpointTag, parseEndpoint, type Endpoint } from '../endpoint.js'
import { InputError } from '../errors.js'
import { shown } from '../escape.js'
import { describeEntry } from '../layout/entries.js'
import { formatPlatform, matchesPlatform, type PlatformSpec } from '../platform.js'
import { isRepositoryName, isTag, parseReference } from '../reference.js'
import type { ArchiveImage } from './archive-sources.js'
import { param } from '../words.js'

export type ArchiveDestination = { kind: 'exact'; endpoint: Endpoint } | { kind: 'prefix'; prefix: string }

export interface ArchivePush {
  image: ArchiveImage
  destinations: Endpoint[]
}

/** `registry/path:tag`, `path:tag` or a tag alone (an OCI `ref.name`), split. */
export function splitImageName(name: string): { path?: string; tag?: string } {
  const at = name.indexOf('@')
  const withoutDigest = at >= 0 ? name.slice(0, at) : name
  const slash = withoutDigest.lastIndexOf('/')
  const colon = withoutDigest.lastIndexOf(':')
  if (slash < 0 && colon < 0) return at >= 0 ? { path: withoutDigest } : { tag: withoutDigest }
  const tag = colon > slash ? withoutDigest.slice(colon + 1) : undefined
  let path = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest
  const first = path.split('/')[0]
  // As distribution reads a name: the first component is a host when it has a `.` or `:`, or is localhost.
  if (path.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) path = path.slice(first.length + 1)
  return { path, ...(tag ? { tag } : {}) }
}

/** An image's repository path and tag: the archive's own repository when it stores one (a registry storage tree), else split from its name. */
function namesOf(image: ArchiveImage): { path?: string; tag?: string } {
  const split = splitImageName(image.name ?? '')
  return image.repository !== undefined ? { ...split, path: image.repository } : split
}

export function planArchivePushes(
  archive: string,
  images: readonly ArchiveImage[],
  options: { digest?: string; platforms: readonly PlatformSpec[]; destinations: readonly ArchiveDestination[] }
): ArchivePush[] {
  let selected = images
  if (options.digest) {
    selected = images.filter((image) => image.descriptor.digest === options.digest)
    if (selected.length === 0) throw new InputError('archive', `${archive} has no image ${options.digest}; it has ${list(images)}`)
  }
  if (options.platforms.length > 0) selected = byPlatform(archive, selected, options.platforms)
  const distinct = new Set(selected.map((image) => image.descriptor.digest))
  const howToChoose = `choose one with ${param('platforms')}, or with @sha256:… after the archive path`
  for (const destination of options.destinations) {
    if (destination.kind === 'exact' && endpointTag(destination.endpoint) !== undefined && distinct.size > 1) {
      throw new InputError(
        'destRef',
        `a destination with a tag takes one image, and ${archive} holds ${distinct.size}: ${list(selected)}; ${howToChoose}`
      )
    }
  }
  const untagged = [...new Map(selected.filter((i) => !namesOf(i).tag).map((i) => [i.descriptor.digest, i])).values()]
  if (untagged.length > 1 && options.destinations.some((d) => d.kind === 'exact' && endpointTag(d.endpoint) === undefined)) {
    throw new InputError(
      'archive',
      `${archive} holds ${untagged.length} images without a tag: ${list(untagged)}; give ${param('destRef')} a tag and ${howToChoose}`
    )
  }

  const pushes = new Map<string, ArchivePush>()
  for (const image of selected) {
    const { path, tag } = namesOf(image)
    // The name's tag names a destination without a tag; its repository, a prefix's.
    const prefixed = options.destinations.some((d) => d.kind === 'prefix')
    const untaggedExact = options.destinations.some((d) => d.kind === 'exact' && endpointTag(d.endpoint) === undefined)
    if (prefixed || untaggedExact) checkImageName(archive, image, prefixed ? path : undefined, tag)
    const push = pushes.get(image.descriptor.digest) ?? { image, destinations: [] }
    pushes.set(image.descriptor.digest, push)
    for (const destination of options.destinations) {
      if (destination.kind === 'exact') {
        push.destinations.push(endpointTag(destination.endpoint) !== undefined ? destination.endpoint : atTag(destination.endpoint, tag))
        continue
      }
      if (!path) {
        throw new InputError(
          'destRef',
          `${destination.prefix} is a prefix, but the image ${describeEntry(image.descriptor)} in ${archive} has no repository name to put under it`
        )
      }
      push.destinations.push(parseEndpoint(`${destination.prefix}${path}${tag ? `:${tag}` : ''}`))
    }
  }
  return [...pushes.values()]
}

/** Whether the whole name (host included) parses as a reference. */
function isReference(name: string): boolean {
  try {
    parseReference(name)
    return true
  } catch {
    return false
  }
}

/**
 * A name read from an archive becomes a destination's repository or tag, so it must be one by the
 * spec's grammar (a `RepoTags` of `../../other:latest` or with a newline is refused, shown escaped).
 */
function checkImageName(archive: string, image: ArchiveImage, path: string | undefined, tag: string | undefined): void {
  if (!image.name) return
  // Only the parts that become a destination are checked (`path` undefined: the repository is not used).
  // Control characters or blanks belong to no name's grammar: such a name is refused whole.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const badTag = (tag !== undefined && !isTag(tag)) || /[\s\u0000-\u001f\u007f-\u009f]/.test(image.name)
  // A repository stored apart (a registry storage tree's) is checked alone: its name is no reference to parse.
  const badPath = path !== undefined && (!isRepositoryName(path) || (image.repository === undefined && !isReference(image.name ?? '')))
  if (!badTag && !badPath) return
  throw new InputError(
    'archive',
    `${archive}: the image ${image.descriptor.digest} is named ${shown(image.name ?? '')}, whose ${badTag ? 'tag' : 'repository'} ` +
      `does not follow the spec's grammar; give ${param('destRef')} a repository and tag to push it under a name of yours`
  )
}

/**
 * The images `platforms` asks for. An entry that gives no platform (an index, say) is kept: the
 * copy filters inside it. A filter that keeps nothing is an error listing what is there, as for a
 * registry source: pushing nothing would look like success.
 */
function byPlatform(archive: string, images: readonly ArchiveImage[], specs: readonly PlatformSpec[]): readonly ArchiveImage[] {
  const kept = images.filter(
    (image) => !image.descriptor.platform || specs.some((spec) => matchesPlatform(spec, image.descriptor.platform))
  )
  if (kept.length > 0) return kept
  const asked = specs.map(formatPlatform).join(', ')
  throw new InputError(
    'platforms',
    `${asked} ${specs.length === 1 ? 'matches' : 'match'} no image in ${archive}; it holds ${list(images)}; give ${param('platforms')} that are there`
  )
}

/** Each image once (an image under two names is one), its names together: as many as the count said. */
function list(images: readonly ArchiveImage[]): string {
  const byDigest = new Map<string, { image: ArchiveImage; names: string[] }>()
  for (const image of images) {
    const entry = byDigest.get(image.descriptor.digest) ?? { image, names: [] }
    if (image.name) entry.names.push(image.name)
    byDigest.set(image.descriptor.digest, entry)
  }
  return [...byDigest.values()]
    .map(({ image, names }) =>
      describeEntry({ ...image.descriptor, annotations: names.length > 0 ? { 'org.opencontainers.image.ref.name': names.join(', ') } : {} })
    )
    .join('; ')
}
