/**
 * Choosing an image from the entries of a layout's `index.json` (or an archive's): by the tag in
 * `org.opencontainers.image.ref.name`, or the only entry when no tag is given (a tagless layout
 * as ORAS and `crane pull --format=oci` write). Anything ambiguous is an error that lists the
 * entries and says how to choose.
 */
import { isDigest } from '../digest.js'
import { ContentError, InputError } from '../errors.js'
import { plain, shown } from '../escape.js'
import type { Descriptor } from '../manifest.js'
import { formatPlatform } from '../platform.js'

export interface LayoutIndex {
  schemaVersion: number
  mediaType?: string
  manifests: Descriptor[]
  annotations?: Record<string, string>
}

/**
 * Parses an `index.json` (of a layout directory or an archive; `where` names it) and checks each
 * entry's digest is `algorithm:hex` before anything turns it into a file name
 * (`blobs/<alg>/<hex>`, image-spec image-layout.md): `sha256:../../etc/passwd` is refused here,
 * never opened. Digests inside manifests are checked as the manifests are parsed.
 */
export function parseLayoutIndex(text: string, where: string): LayoutIndex {
  let index: unknown
  try {
    index = JSON.parse(text)
  } catch {
    throw new ContentError(where, 'is not valid JSON')
  }
  const manifests = (index as Partial<LayoutIndex> | null)?.manifests
  if (!Array.isArray(manifests)) throw new ContentError(where, 'is not an image index (it has no "manifests" array)')
  manifests.forEach((entry: Partial<Descriptor> | null, i) => {
    const digest = entry?.digest
    if (digest === undefined) throw new ContentError(where, `manifests[${i}] has no digest`)
    if (typeof digest !== 'string' || !isDigest(digest)) {
      throw new ContentError(
        where,
        `manifests[${i}] has digest ${JSON.stringify(digest)}, which is not algorithm:hex (sha256: and 64 hex digits); the file is damaged or crafted`
      )
    }
  })
  return index as LayoutIndex
}

const REF_NAME = 'org.opencontainers.image.ref.name'
const CONTAINERD_NAME = 'io.containerd.image.name'

/** The name an entry carries: its ref.name, else the tag of containerd's image name. */
export function entryName(descriptor: Descriptor): string | undefined {
  const ref = descriptor.annotations?.[REF_NAME]
  if (ref) return ref
  const image = descriptor.annotations?.[CONTAINERD_NAME]
  if (!image) return undefined
  const colon = image.lastIndexOf(':')
  return colon > image.lastIndexOf('/') ? image.slice(colon + 1) : undefined
}

/**
 * Whether a reader asking for `tag` takes this entry: the one rule for reading (chooseEntry) and
 * for writing (a tag written replaces every entry it names), so a tag written is never ambiguous.
 */
export function isNamed(descriptor: Descriptor, tag: string): boolean {
  return entryName(descriptor) === tag
}

/** `sha256:… application/vnd.oci.image.manifest.v1+json linux/amd64 (v1)`: one entry, for lists in errors. */
export function describeEntry(descriptor: Descriptor): string {
  const name = entryName(descriptor)
  // Every part but the digest was read from the archive or layout: shown escaped.
  return plain(`${descriptor.digest} ${descriptor.mediaType} ${formatPlatform(descriptor.platform)}${name ? ` (${name})` : ''}`, 600)
}

export function chooseEntry(index: LayoutIndex, tag: string | undefined, where: string): Descriptor {
  const entries = index.manifests
  if (tag !== undefined) {
    const named = entries.filter((d) => isNamed(d, tag))
    if (named.length === 1) return named[0]
    if (named.length === 0) {
      const tags = entries.map(entryName).filter((n): n is string => n !== undefined)
      throw new InputError(
        'srcRef',
        `${where} has no image tagged "${tag}"${tags.length ? `; it has ${tags.map((t) => plain(t, 200)).join(', ')}` : ' (its entries have no tags)'}`
      )
    }
    throw new InputError(
      'srcRef',
      `${where} has ${named.length} entries tagged "${tag}": ${named.map(describeEntry).join('; ')}; give @sha256:… instead`
    )
  }
  if (entries.length === 1) return entries[0]
  if (entries.length === 0) throw new InputError('srcRef', `${where} holds no image (its index.json lists no manifests)`)
  throw new InputError(
    'srcRef',
    `${where} holds ${entries.length} images: ${entries.map(describeEntry).join('; ')}; choose one with :tag or @sha256:… on the path`
  )
}

/**
 * `blobs/<alg>/<hex>`: where image-layout.md puts a blob (and what a docker save's manifest.json
 * names). A digest that is not one by the grammar never becomes a path: an error for `where`.
 */
export function layoutBlobEntry(digest: string, where: string): string {
  if (!isDigest(digest)) throw new ContentError(where, `${shown(digest)} is not a digest (algorithm:hex)`)
  const colon = digest.indexOf(':')
  return `blobs/${digest.slice(0, colon)}/${digest.slice(colon + 1)}`
}
