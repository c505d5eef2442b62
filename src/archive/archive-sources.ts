/**
 * The images in an archive, each readable as a {@link Source}: an OCI layout (`index.json`,
 * `blobs/…`; also Docker ≥ 25's `docker save`) read as it is, or a legacy `docker save` /
 * `podman save` (`manifest.json` with `RepoTags`) whose image manifests are made here, as Docker
 * v2 schema 2 with its layers gzip'd (once each, kept in a {@link LayerSpool} until pushed).
 */
import { availableParallelism } from 'node:os'
import { Readable } from 'node:stream'
import { forEachLimit } from '../concurrency.js'
import { sha256 } from '../digest.js'
import { ContentError } from '../errors.js'
import type { Descriptor, Platform } from '../manifest.js'
import { DOCKER_MANIFEST } from '../media-types.js'
import { entryName, layoutBlobEntry, parseLayoutIndex } from '../layout/entries.js'
import { shown } from '../escape.js'
import { DigestAddressedSource } from './digest-addressed.js'
import type { Closable, FetchedManifest, OrderedSource, Source, TransferOptions } from '../storage.js'
import type { ArchiveContainer } from './container.js'
import type { LayerSpool, SpooledLayer } from './layer-spool.js'
import { compressingLayer, type CompressedLayer, type CompressingLayer } from './layer-compression.js'

/** One image an archive holds, with the name it carries, if any. */
export interface ArchiveImage {
  /** `repo:tag`, `registry/repo:tag`, or a tag alone (OCI `ref.name`); undefined when unnamed. */
  name?: string
  /**
   * The repository path, when the archive stores it apart from any host (a registry storage
   * tree's): used as it is, not parsed out of `name`, whose first component could look like a host.
   */
  repository?: string
  /** Its root manifest, with a platform when the archive says one. */
  descriptor: Descriptor
}

const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json'
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip'

function parseJson<T>(bytes: Buffer, where: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T
  } catch {
    throw new ContentError(where, 'is not valid JSON')
  }
}

/** An OCI image layout inside an archive. */
export class ArchiveLayoutSource extends DigestAddressedSource {
  async images(): Promise<ArchiveImage[]> {
    const index = parseLayoutIndex((await this.container.readSmall('index.json')).toString('utf8'), `${this.name} index.json`)
    return index.manifests.map((descriptor) => {
      const name = descriptor.annotations?.['io.containerd.image.name'] ?? entryName(descriptor)
      return { descriptor, ...(name ? { name } : {}) }
    })
  }

  protected blobEntry(digest: string): string {
    return layoutBlobEntry(digest, `${this.name}@${digest}`)
  }

  protected notByDigest(reference: string): string {
    return `${shown(reference)} is not a digest (algorithm:hex)`
  }
}

interface LegacyEntry {
  Config: string
  RepoTags?: string[] | null
  Layers: string[]
}

/** An image of `manifest.json` with its config read. */
interface LegacyImage {
  entry: LegacyEntry
  configBytes: Buffer
  config: LegacyConfig
}

interface LegacyConfig {
  os?: string
  architecture?: string
  variant?: string
  rootfs?: { diff_ids?: string[] }
}

/**
 * A layer compressed straight into its upload: no file holds its gzip'd bytes; a later read
 * compresses the archive's entry again, at the same level, to the same bytes.
 */
interface StreamedLayer extends CompressedLayer {
  entry: string
}

type MeasuredLayer = SpooledLayer | StreamedLayer

/** A blob of a legacy save: its config's bytes, a layer's gzip'd bytes in the spool, or a layer compressed again when read. */
type LegacyBlob = { bytes: Buffer; path: string } | { spooled: SpooledLayer; path: string } | { streamed: StreamedLayer; path: string }

/** A layer a {@link LayerListener} may compress straight into an upload. */
export interface LayerToStream {
  /** The image's config: a destination that holds it holds (most likely) its layers too. */
  config: Descriptor
  mediaType: string
  /** The layer's `diff_id`, and its size as stored in the archive (uncompressed): for events. */
  diffId: string
  size: number
  /** For messages: `save.tar entry "abc/layer.tar"`. */
  what: string
  /** Compresses the layer from its first byte; again on each call. */
  compress(): Promise<CompressingLayer>
}

/**
 * Told of each layer of a single-image save as soon as it is compressed and found to be what the
 * config lists: `source` already serves it (a docker save's uploads can start before the image's
 * manifest exists, see `engine/ahead-uploads.ts`). `stop` is awaited before the spool is removed
 * when opening fails: nothing may still be reading it.
 */
export interface LayerListener {
  ready(layer: Descriptor, source: Source): void
  /** Compresses and uploads `layer` at once, when it can; undefined when it did not (the layer is spooled). */
  upload?(layer: LayerToStream): Promise<CompressedLayer | undefined>
  stop(): Promise<void>
}

/** Layers compressed at once when opening a plain tar (their blocks share the pool: see parallel-gzip.ts). */
const MEASURE_CONCURRENCY = Math.max(1, Math.min(4, availableParallelism()))

/**
 * A legacy `docker save` archive, its manifests made from `manifest.json` and the configs. Every
 * layer is compressed when the archive is opened: straight into its upload where a listener takes
 * it (a later read, for a restart or another registry, compresses the archive's entry again, to
 * the same bytes), else once into the {@link LayerSpool}, whose files are then read (and the
 * configs from memory) in any order and at once, even from a gzip'd tar. Closing it removes the spool.
 */
export class LegacyArchiveSource implements Source, OrderedSource, Closable {
  readonly name: string
  readonly sequential = false
  private readonly manifests = new Map<string, Buffer>()
  private readonly blobs = new Map<string, LegacyBlob>()
  private list: ArchiveImage[] = []

  private constructor(
    private readonly container: ArchiveContainer,
    private readonly spool: LayerSpool
  ) {
    this.name = container.path
  }

  /**
   * Reads manifest.json and every config, and compresses every layer into `spool` (a plain tar's
   * layers several at once, the largest first), or takes what a gzip'd tar's first pass spooled
   * (`precomputed`, by entry name; what no image uses is removed). On failure the spool is closed.
   * `listener` hears of each layer compressed here, when the save holds one image.
   */
  static async open(
    container: ArchiveContainer,
    spool: LayerSpool,
    precomputed: ReadonlyMap<string, SpooledLayer> = new Map(),
    listener?: LayerListener
  ): Promise<LegacyArchiveSource> {
    const source = new LegacyArchiveSource(container, spool)
    try {
      const images = await source.readImages()
      const layers = await source.measureAll(images, precomputed, images.length === 1 ? listener : undefined)
      for (const image of images) for (const added of source.add(image, layers)) source.list.push(added)
      const used = new Set(layers.values())
      for (const layer of precomputed.values()) if (!used.has(layer)) await spool.discard(layer)
    } catch (error) {
      await listener?.stop()
      await spool.close()
      throw error
    }
    return source
  }

  images(): ArchiveImage[] {
    return this.list
  }

  /** Removes the spooled layers: call once every copy from this archive is done. */
  close(): Promise<void> {
    return this.spool.close()
  }

  private async readImages(): Promise<LegacyImage[]> {
    const where = `${this.name} manifest.json`
    const entries = parseJson<LegacyEntry[]>(await this.container.readSmall('manifest.json'), where)
    if (!Array.isArray(entries)) throw new ContentError(where, 'is not a list of images')
    const images: LegacyImage[] = []
    for (const entry of entries) {
      if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers))
        throw new ContentError(where, 'has an image without Config or Layers')
      const configBytes = await this.container.readSmall(entry.Config)
      const config = parseJson<LegacyConfig>(configBytes, `${this.name} ${entry.Config}`)
      const diffIds = config.rootfs?.diff_ids ?? []
      if (diffIds.length !== entry.Layers.length) {
        throw new ContentError(`${this.name} ${entry.Config}`, `lists ${diffIds.length} diff_ids for ${entry.Layers.length} layers`)
      }
      images.push({ entry, configBytes, config })
    }
    return images
  }

  /** Every layer file the images name, once each (by the file it is, after links), gzip'd into the spool. */
  private async measureAll(
    images: readonly LegacyImage[],
    precomputed: ReadonlyMap<string, SpooledLayer>,
    listener: LayerListener | undefined
  ): Promise<Map<string, MeasuredLayer>> {
    const layers = new Map<string, MeasuredLayer>()
    const files = new Set(images.flatMap(({ entry }) => entry.Layers.map((path) => this.container.canonicalName(path))))
    const missing = [...files].filter((file) => {
      const known = precomputed.get(file)
      if (known) layers.set(file, known)
      return !known
    })
    missing.sort((a, b) => (this.container.size(b) ?? 0) - (this.container.size(a) ?? 0))
    const atOnce = this.container.sequential ? 1 : MEASURE_CONCURRENCY
    const measure = async (file: string) => {
      const what = `${this.name} entry "${file}"`
      const streamed = listener?.upload && !this.container.sequential ? await this.stream(images[0], file, what, listener) : undefined
      if (streamed) {
        layers.set(file, streamed)
        return
      }
      const layer = await this.spool.keep(await this.container.open(file), what)
      layers.set(file, layer)
      if (listener) this.announce(images[0], file, layer, listener)
    }
    // Uploaded as they come, the last upload to end is the largest layer's: when it holds most of
    // the bytes it is compressed alone, with nothing else taking the cores, so that upload starts
    // soonest (the others are compressed while it goes up).
    const size = (file: string) => this.container.size(file) ?? 0
    const rest = missing.slice(1).reduce((sum, file) => sum + size(file), 0)
    if (listener && missing.length > 1 && size(missing[0]) >= rest) await measure(missing.shift() as string)
    await forEachLimit(missing, atOnce, measure)
    return layers
  }

  /** `file` compressed straight into an upload by `listener`, when it takes it and the layer is what the config lists. */
  private async stream(
    { entry, config, configBytes }: LegacyImage,
    file: string,
    what: string,
    listener: LayerListener
  ): Promise<StreamedLayer | undefined> {
    const diffIds = config.rootfs?.diff_ids ?? []
    const index = entry.Layers.findIndex((path) => this.container.canonicalName(path) === file)
    const diffId = diffIds[index]
    if (index < 0 || !diffId) return undefined
    const uploaded = await listener.upload?.({
      config: { mediaType: DOCKER_CONFIG, digest: sha256(configBytes), size: configBytes.length },
      mediaType: DOCKER_LAYER,
      diffId,
      size: this.container.size(file) ?? 0,
      what,
      compress: async () =>
        compressingLayer(await this.container.open(file), {
          check: (layer) => {
            if (layer.diffId !== diffId)
              throw new ContentError(this.name, `entry "${entry.Layers[index]}" has content ${layer.diffId}, the config lists ${diffId}`)
          }
        })
    })
    if (!uploaded) return undefined
    const streamed = { ...uploaded, entry: file }
    this.blobs.set(uploaded.digest, { path: entry.Layers[index], streamed })
    return streamed
  }

  /** Serves `layer` at once and tells `listener`, when it is what the image's config lists (else {@link add} refuses the archive). */
  private announce({ entry, config }: LegacyImage, file: string, layer: SpooledLayer, listener: LayerListener): void {
    const diffIds = config.rootfs?.diff_ids ?? []
    const at = entry.Layers.flatMap((path, i) => (this.container.canonicalName(path) === file ? [{ path, diffId: diffIds[i] }] : []))
    if (at.length === 0 || at.some(({ diffId }) => diffId !== layer.diffId)) return
    this.blobs.set(layer.digest, { path: at[0].path, spooled: layer })
    listener.ready({ mediaType: DOCKER_LAYER, digest: layer.digest, size: layer.size }, this)
  }

  /** An image's manifest, made from its config and measured layers, each checked against `rootfs.diff_ids`. */
  private add({ entry, configBytes, config }: LegacyImage, measured: ReadonlyMap<string, MeasuredLayer>): ArchiveImage[] {
    const diffIds = config.rootfs?.diff_ids ?? []
    const configDigest = sha256(configBytes)
    this.blobs.set(configDigest, { path: entry.Config, bytes: configBytes })
    const layers: Descriptor[] = []
    for (const [i, path] of entry.Layers.entries()) {
      const layer = measured.get(this.container.canonicalName(path)) as MeasuredLayer
      if (layer.diffId !== diffIds[i]) {
        throw new ContentError(this.name, `entry "${path}" has content ${layer.diffId}, the config lists ${diffIds[i]}`)
      }
      this.blobs.set(layer.digest, 'file' in layer ? { path, spooled: layer } : { path, streamed: layer })
      layers.push({ mediaType: DOCKER_LAYER, digest: layer.digest, size: layer.size })
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, digest: configDigest, size: configBytes.length },
      layers
    }
    const bytes = Buffer.from(JSON.stringify(manifest))
    const digest = sha256(bytes)
    this.manifests.set(digest, bytes)
    const platform: Platform | undefined =
      config.os && config.architecture
        ? { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) }
        : undefined
    const descriptor: Descriptor = { mediaType: DOCKER_MANIFEST, digest, size: bytes.length, ...(platform ? { platform } : {}) }
    const tags = entry.RepoTags ?? []
    return tags.length > 0 ? tags.map((name) => ({ name, descriptor })) : [{ descriptor }]
  }

  fetchManifest(reference: string): Promise<FetchedManifest> {
    const bytes = this.manifests.get(reference)
    if (!bytes) return Promise.reject(new ContentError(`${this.name}@${reference}`, 'no such image in the archive'))
    return Promise.resolve({ bytes, contentType: DOCKER_MANIFEST })
  }

  fetchBlob(descriptor: Descriptor, options: TransferOptions = {}): Promise<Readable> {
    const blob = this.blobs.get(descriptor.digest)
    if (!blob) return Promise.reject(new ContentError(`${this.name}@${descriptor.digest}`, 'no such blob in the archive'))
    if ('bytes' in blob) return Promise.resolve(Readable.from([blob.bytes]))
    if ('spooled' in blob) return Promise.resolve(this.spool.open(blob.spooled, options.signal))
    const { entry, level } = blob.streamed
    return this.container.open(entry, options.signal).then(async (layer) => (await compressingLayer(layer, { level })).body)
  }

  blobOrder(digest: string): number {
    const blob = this.blobs.get(digest)
    return blob ? this.container.position(blob.path) : 0
  }
}
