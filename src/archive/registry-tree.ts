/**
 * A registry storage tree inside a tar (a mindthegap bundle: `registry:2`'s storage directory
 * tarred, with mindthegap's `images.yaml` or `charts.yaml` beside it) as a {@link Source}: each
 * repository:tag its tags' links name is an image, its manifest and blobs read by digest from the
 * tree's blob store, byte for byte, never extracted. Paths: see registry-storage-paths.ts.
 *
 * Whatever the tree says is checked before it is used: a link must hold a digest by the grammar
 * (it becomes a path in the tree, as `index.json` digests do in a layout), repository names and
 * tags must follow the distribution spec's grammar (they become destination names). Blobs stream
 * as they are stored; the copy verifies each against its digest on the way (source-stream.ts).
 */
import { isDigest } from '../digest.js'
import { ContentError } from '../errors.js'
import { shown } from '../escape.js'
import { MAX_MANIFEST_BYTES, parseManifest, type Descriptor } from '../manifest.js'
import { isRepositoryName, isTag } from '../reference.js'
import type { ArchiveImage } from './archive-sources.js'
import { DigestAddressedSource } from './digest-addressed.js'
import { blobDataPath, isStorageBlob, MAX_LINK_BYTES, tagLinkOf } from './registry-storage-paths.js'

/** mindthegap's own files, at the top of a bundle beside the tree: what it was asked to bundle. */
export const BUNDLE_CONFIGS: ReadonlySet<string> = new Set(['images.yaml', 'charts.yaml'])

/** Entry names, as many as a message shows escaped: the tree's paths hold names of any length. */
const SHOWN_PATH = 300

/** Whether an archive's entries are those of a registry storage tree: at least one blob or tag link in it. */
export function isRegistryTree(names: Iterable<string>): boolean {
  for (const name of names) if (isStorageBlob(name) || tagLinkOf(name)) return true
  return false
}

/**
 * Whether an archive is a mindthegap bundle even if it also has `index.json` or `manifest.json`
 * at its top, as mindthegap itself decides (`push bundle`): a tree and one of its config files.
 */
export function isMindthegapBundle(names: ReadonlySet<string>): boolean {
  return [...BUNDLE_CONFIGS].some((config) => names.has(config)) && isRegistryTree(names)
}

interface TagLink {
  /** The link's entry name. */
  entry: string
  repository: string
  tag: string
}

export class RegistryTreeSource extends DigestAddressedSource {
  /**
   * Every repository:tag of the tree, sorted; an error naming the entry for a name outside the
   * grammar, a link that is not a digest, or a manifest the tree lacks. Read in the order the
   * archive stores them (a gzip'd tar is read forwards).
   */
  async images(): Promise<ArchiveImage[]> {
    const links = this.tagLinks()
    const digests = new Map<TagLink, string>()
    /** Each manifest once, with the first link naming it (for messages). */
    const named = new Map<string, TagLink>()
    for (const link of links) {
      const digest = await this.readLink(link)
      digests.set(link, digest)
      if (!named.has(digest)) named.set(digest, link)
    }
    const descriptors = new Map<string, Descriptor>()
    const inOrder = [...named].sort(([a], [b]) => this.blobOrder(a) - this.blobOrder(b))
    for (const [digest, link] of inOrder) descriptors.set(digest, await this.describe(digest, link))
    return links
      .map((link) => ({
        name: `${link.repository}:${link.tag}`,
        repository: link.repository,
        descriptor: descriptors.get(digests.get(link) as string) as Descriptor
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  protected blobEntry(digest: string): string {
    return blobDataPath(digest)
  }

  protected notByDigest(): string {
    return 'a registry storage tree is read by digest only'
  }

  /** manifestTagCurrentPathSpec entries, in archive order, each name checked against the spec's grammar. */
  private tagLinks(): TagLink[] {
    const links: TagLink[] = []
    for (const entry of this.container.names()) {
      const link = tagLinkOf(entry)
      if (!link) continue
      // The tag directory names a destination: `../x`, a newline or an upper-case letter never reaches one.
      if (!isRepositoryName(link.repository) || !isTag(link.tag)) {
        const which = isRepositoryName(link.repository) ? `tag ${shown(link.tag)}` : `repository ${shown(link.repository)}`
        throw new ContentError(
          this.name,
          `entry ${shown(entry, SHOWN_PATH)} names the ${which}, which does not follow the distribution spec's grammar; ` +
            're-create the bundle with names a registry accepts'
        )
      }
      links.push({ entry, ...link })
    }
    return links.sort((a, b) => this.container.position(a.entry) - this.container.position(b.entry))
  }

  /** The digest a tag's link holds, as distribution reads it (`digest.Parse` of the whole file: no blank, no newline). */
  private async readLink({ entry }: TagLink): Promise<string> {
    const size = this.container.size(entry) ?? 0
    const text = size <= MAX_LINK_BYTES ? (await this.container.readSmall(entry)).toString('utf8') : undefined
    if (text !== undefined && isDigest(text)) return text
    const held = text === undefined ? `${size} bytes` : shown(text)
    throw new ContentError(
      this.name,
      `entry ${shown(entry, SHOWN_PATH)} holds ${held}, not a digest (algorithm:hex) as a tag's link does; ` +
        'the bundle is damaged or crafted: re-create it'
    )
  }

  /** The descriptor of a tag's manifest: its size from the tree, its media type from its bytes. */
  private async describe(digest: string, link: TagLink): Promise<Descriptor> {
    const path = blobDataPath(digest)
    const size = this.container.size(path)
    if (size === undefined) {
      throw new ContentError(
        this.name,
        `entry ${shown(link.entry, SHOWN_PATH)} names ${digest}, whose entry "${path}" is missing; the bundle is incomplete: re-create it`
      )
    }
    if (size > MAX_MANIFEST_BYTES) throw new ContentError(this.name, `entry "${path}" is larger than ${MAX_MANIFEST_BYTES} bytes`)
    const manifest = parseManifest(await this.container.readSmall(path), undefined, `${this.name} ${link.repository}:${link.tag}`)
    return { mediaType: manifest.mediaType, digest, size }
  }
}
