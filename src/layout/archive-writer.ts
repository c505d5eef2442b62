/**
 * One archive file written as `docker save` on Docker ≥ 25 writes it: an OCI image layout
 * (image-spec image-layout.md: `oci-layout`, `index.json`, `blobs/sha256/<hex>`) with moby's
 * `manifest.json` (and `repositories`) beside it, so `docker load` reads it on either image store,
 * skopeo as `oci-archive:` and `docker-archive:`, and layout readers (crane, oras, umoci) as a
 * layout. Blobs are stored as they come (compressed layers stay compressed): every digest is the
 * source's, and each is stored once however many images share it.
 *
 * Written as a stream into a temporary file beside the target — entries one after another, no
 * second copy on disk — and renamed over it by {@link ArchiveWriter.commit} once the step is
 * complete (a step that wrote nothing, an empty shard, gets an empty archive); {@link
 * ArchiveWriter.discard} removes it, so a failed run leaves no half archive. `.tar.gz` and `.tgz`
 * gzip the whole tar. Nothing is created until the first write, and a dry run never commits.
 */
import { createWriteStream, type WriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { pack, type Pack } from 'tar-stream'
import { ContentError } from '../errors.js'
import { fileSystemError, systemCode } from '../files.js'
import { parseManifest, type Descriptor, type ImageManifest } from '../manifest.js'
import { OCI_INDEX } from '../media-types.js'
import type { FetchedManifest, Pinning, Source, Target, TagIndex } from '../storage.js'
import { layoutBlobEntry } from './entries.js'

const REF_NAME = 'org.opencontainers.image.ref.name'
const CONTAINERD_NAME = 'io.containerd.image.name'
/** Config media types of container images (OCI, Docker): what moby's loader takes. */
const IMAGE_CONFIGS: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json'
])

/** An entry of `index.json`: a tagged (or pinned) root, with the names Docker 25 gives it. */
interface Named {
  descriptor: Descriptor
  tag?: string
  /** `registry/repository`, when the image has one (a registry source, a mirror pair). */
  name?: string
}

export class ArchiveWriter implements Target, Pinning, Source, TagIndex {
  readonly name: string
  private readonly written = new Set<string>()
  /** Image manifests written, for manifest.json: their config and layers. */
  private readonly images = new Map<string, ImageManifest>()
  /** Indexes written: their children, for manifest.json. */
  private readonly indexes = new Map<string, Descriptor[]>()
  private readonly entries: Named[] = []
  /** Every manifest written (they are small): read back for the referrers tag schema. */
  private readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>()
  /** The image name each written root and its children go by, for a referrers index of theirs. */
  private readonly namesByDigest = new Map<string, string>()
  private tar?: { pack: Pack; file: WriteStream; done: Promise<void>; temp: string }
  /** Entries go in one after another: each write waits for the one before. */
  private queue: Promise<void> = Promise.resolve()
  /** A write that failed half way leaves a tar no reader could trust: nothing more is written. */
  private broken?: Error

  constructor(
    readonly path: string,
    private readonly gzip: boolean
  ) {
    this.name = path
  }

  manifestExists(descriptor: Descriptor): Promise<boolean> {
    return Promise.resolve(this.written.has(descriptor.digest))
  }

  blobExists(descriptor: Descriptor): Promise<boolean> {
    return Promise.resolve(this.written.has(descriptor.digest))
  }

  pushBlob(descriptor: Descriptor, open: () => Promise<Readable>): Promise<void> {
    return this.entry(descriptor, async () => await open())
  }

  async pushManifest(descriptor: Descriptor, bytes: Buffer, tag?: string, name?: string): Promise<void> {
    const manifest = parseManifest(bytes, descriptor.mediaType, `${this.path} ${descriptor.digest}`)
    if (manifest.kind === 'image') this.images.set(descriptor.digest, manifest)
    else this.indexes.set(descriptor.digest, manifest.manifests)
    this.manifests.set(descriptor.digest, { bytes, mediaType: descriptor.mediaType })
    await this.entry(descriptor, () => Promise.resolve(Readable.from([bytes])))
    if (tag === undefined) return
    // A referrers index (the tag schema's `sha256-<hex>`) goes by its subject's name, so that an
    // archive pushed back under a prefix puts it beside its subject.
    const named = name ?? this.namesByDigest.get(subjectOfTag(tag) ?? '')
    this.record({ descriptor, tag, ...(named ? { name: named } : {}) })
  }

  /** A manifest written to this archive, by digest or tag (read back for the referrers tag schema). */
  fetchManifest(reference: string): Promise<FetchedManifest> {
    const digest = this.entries.find((e) => e.tag === reference)?.descriptor.digest ?? reference
    const found = this.manifests.get(digest)
    if (!found) return Promise.reject(new ContentError(this.path, `holds no manifest ${reference}`))
    return Promise.resolve({ bytes: found.bytes, contentType: found.mediaType })
  }

  /** Blobs go into the stream and are not read back. */
  fetchBlob(descriptor: Descriptor): Promise<Readable> {
    return Promise.reject(new ContentError(this.path, `blob ${descriptor.digest} is written, not read back`))
  }

  hasTag(tag: string): Promise<boolean> {
    return Promise.resolve(this.entries.some((e) => e.tag === tag))
  }

  /** A root pushed by digest alone: listed in index.json as `name@digest` when it has a name. */
  pin(descriptor: Descriptor, name?: string): Promise<void> {
    this.record({ descriptor, ...(name ? { name } : {}) })
    return Promise.resolve()
  }

  /**
   * Writes the layout's own files and renames the archive into place. Nothing to do when nothing
   * was written (a dry run); an archive with no image in it is not made.
   */
  async commit(): Promise<void> {
    await this.queue
    if (this.broken) throw this.broken
    // Nothing went in (an empty shard): an empty archive, never an older file left in its place.
    if (!this.tar) await this.open()
    const { pack: tarPack, done, temp } = this.tar as NonNullable<ArchiveWriter['tar']>
    const json = (name: string, value: unknown) => this.add(name, Buffer.from(JSON.stringify(value)))
    await json('oci-layout', { imageLayoutVersion: '1.0.0' })
    await json('index.json', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: this.entries.map(indexEntry) })
    const loadable = this.loadable()
    await json('manifest.json', loadable)
    await json('repositories', repositories(loadable))
    tarPack.finalize()
    await done
    try {
      await rename(temp, this.path)
    } catch (error) {
      throw fileSystemError(error, 'write the archive', this.path)
    }
    this.tar = undefined
  }

  /** Removes the temporary file of a run that did not complete. */
  async discard(): Promise<void> {
    const tar = this.tar
    this.tar = undefined
    if (!tar) return
    tar.pack.destroy()
    tar.file.destroy()
    await tar.done.catch(() => {})
    await rm(tar.temp, { force: true })
  }

  /** A blob's entry; a digest outside the grammar (from a source's manifest) never names one. */
  private blobEntry(digest: string): string {
    return layoutBlobEntry(digest, `${this.name}@${digest}`)
  }

  private record(named: Named): void {
    if (named.name) {
      this.namesByDigest.set(named.descriptor.digest, named.name)
      for (const child of this.indexes.get(named.descriptor.digest) ?? []) this.namesByDigest.set(child.digest, named.name)
      // Referrers are written before their subject's tag: they take its name once it has one.
      for (const entry of this.entries) {
        const subject = entry.tag === undefined || entry.name ? undefined : subjectOfTag(entry.tag)
        if (subject !== undefined && this.namesByDigest.has(subject)) entry.name = this.namesByDigest.get(subject)
      }
    }
    // One entry per tag: a tag written again (a second destination line) names the last.
    const at = named.tag === undefined ? -1 : this.entries.findIndex((e) => e.tag === named.tag && e.name === named.name)
    if (at >= 0) this.entries[at] = named
    else if (!this.entries.some((e) => e.tag === undefined && named.tag === undefined && e.descriptor.digest === named.descriptor.digest))
      this.entries.push(named)
  }

  /** One blob entry, once per digest, after the entries before it. */
  private entry(descriptor: Descriptor, open: () => Promise<Readable>): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.broken) throw this.broken
      if (this.written.has(descriptor.digest)) return
      await this.open()
      // Opened before its entry starts: a source that cannot be opened leaves the tar as it was.
      const body = await open()
      try {
        await this.add(this.blobEntry(descriptor.digest), body, descriptor.size)
      } catch (error) {
        // Half an entry is in the tar: no reader could trust it, and a retry cannot take it back.
        const cause = error instanceof Error ? error.message : String(error)
        this.broken = new ContentError(
          this.path,
          `${descriptor.digest} broke off while it was written (${cause}); the archive cannot be completed, run the step again`
        )
        throw this.broken
      }
      this.written.add(descriptor.digest)
    })
    this.queue = run.catch(() => {})
    return run
  }

  /** Writes one tar entry of `size` bytes from `body`. */
  private async add(name: string, body: Readable | Buffer, size = (body as Buffer).length): Promise<void> {
    const tar = this.tar as NonNullable<ArchiveWriter['tar']>
    const sink = tar.pack.entry({ name, size, mode: 0o644, mtime: new Date(0), type: 'file' })
    await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, sink)
  }

  /** The temporary file beside the target, opened at the first write. */
  private async open(): Promise<void> {
    if (this.tar) return
    try {
      if ((await stat(this.path)).isDirectory()) {
        throw new ContentError(
          this.path,
          'is a directory; an archive is written as a file (write ./dir/ with a trailing / for a layout directory)'
        )
      }
    } catch (error) {
      if (error instanceof ContentError) throw error
      if (systemCode(error) !== 'ENOENT') throw fileSystemError(error, 'write the archive', this.path)
    }
    const temp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.partial`)
    const file = createWriteStream(temp)
    const tarPack = pack()
    const done = (this.gzip ? pipeline(tarPack, createGzip(), file) : pipeline(tarPack, file)).catch((error: unknown) => {
      throw fileSystemError(error, 'write the archive', this.path)
    })
    // Failures show on commit (or through the entry that is written); never unhandled.
    done.catch(() => {})
    this.tar = { pack: tarPack, file, done, temp }
  }

  /**
   * manifest.json as moby's loader reads it: for each tagged image manifest, its config, its
   * layers and its name; for a tagged index, the image manifests in it (attestations left out),
   * the name on the first one only (a loader tags one image per name).
   */
  private loadable(): Array<{ Config: string; RepoTags: string[]; Layers: string[] }> {
    const byManifest = new Map<string, { Config: string; RepoTags: string[]; Layers: string[] }>()
    const add = (digest: string, repoTag: string | undefined) => {
      const image = this.images.get(digest)
      // Only container images: a chart, a signature or an SBOM is no image a loader can run.
      if (!image || !IMAGE_CONFIGS.has(image.config.mediaType)) return
      const entry = byManifest.get(digest) ?? {
        Config: this.blobEntry(image.config.digest),
        RepoTags: [],
        Layers: image.layers.map((l) => this.blobEntry(l.digest))
      }
      if (repoTag !== undefined && !entry.RepoTags.includes(repoTag)) entry.RepoTags.push(repoTag)
      byManifest.set(digest, entry)
    }
    for (const { descriptor, tag, name } of this.entries) {
      const repoTag = tag !== undefined && name ? `${name}:${tag}` : undefined
      add(descriptor.digest, repoTag)
      // Of an index, the Linux images (moby's loader refuses another OS), the name on one: linux/amd64 if there.
      const children = (this.indexes.get(descriptor.digest) ?? []).filter((child) => child.platform?.os === 'linux')
      const named = children.find((child) => child.platform?.architecture === 'amd64') ?? children[0]
      for (const child of children) add(child.digest, child === named ? repoTag : undefined)
    }
    return [...byManifest.values()]
  }
}

/** The subject digest a referrers tag stands for (`sha256-<hex>`, cosign's `.sig`/`.att`/`.sbom` too), or undefined. */
function subjectOfTag(tag: string): string | undefined {
  const match = /^(sha256)-([0-9a-f]{64})(?:\.(?:sig|att|sbom))?$/.exec(tag)
  return match ? `${match[1]}:${match[2]}` : undefined
}

/** An index.json entry as Docker 25 writes it: the full name and the tag. */
function indexEntry({ descriptor, tag, name }: Named): Descriptor {
  const { mediaType, digest, size } = descriptor
  const annotations =
    tag === undefined
      ? name
        ? { [CONTAINERD_NAME]: `${name}@${digest}` }
        : undefined
      : { ...(name ? { [CONTAINERD_NAME]: `${name}:${tag}` } : {}), [REF_NAME]: tag }
  return { mediaType, digest, size, ...(annotations ? { annotations } : {}) }
}

/** The legacy `repositories` file: repository → tag → the image's top layer (its blob's hex). */
function repositories(loadable: ReadonlyArray<{ RepoTags: string[]; Layers: string[] }>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {}
  for (const { RepoTags, Layers } of loadable) {
    const top = Layers[Layers.length - 1]
    if (!top) continue
    for (const repoTag of RepoTags) {
      const colon = repoTag.lastIndexOf(':')
      const repository = repoTag.slice(0, colon)
      out[repository] = { ...out[repository], [repoTag.slice(colon + 1)]: top.slice(top.lastIndexOf('/') + 1) }
    }
  }
  return out
}
