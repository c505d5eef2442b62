/**
 * What a copy reads from and writes to. A registry repository implements both; an OCI layout and
 * an archive will implement them too, so the graph walk never knows which it has (the shape of
 * oras-go's content.Storage). Optional capabilities, like mounting, are separate interfaces found
 * by checking for them.
 */
import type { Readable } from 'node:stream'
import type { Descriptor } from './manifest.js'

/** What a transfer may be told: stop, because the copy failed elsewhere. */
export interface TransferOptions {
  signal?: AbortSignal
}

/** Manifest bytes as stored, with what the store says about them. */
export interface FetchedManifest {
  bytes: Buffer
  /** The media type it was stored or served with (`Content-Type`), when the store knows one. */
  contentType?: string
  /** The digest the store claims for it (`Docker-Content-Digest`), checked against the bytes. */
  claimedDigest?: string
}

export interface Source {
  /** For messages: `localhost:5000/app`. */
  readonly name: string
  /** A manifest by tag or digest. */
  fetchManifest(reference: string): Promise<FetchedManifest>
  /** A blob's bytes as a stream; the caller verifies them. */
  fetchBlob(descriptor: Descriptor, options?: TransferOptions): Promise<Readable>
}

export interface Target {
  readonly name: string
  manifestExists(descriptor: Descriptor): Promise<boolean>
  blobExists(descriptor: Descriptor): Promise<boolean>
  /**
   * Stores a blob from a stream that `open` returns (called again to start over); resolves once
   * the target has verified and stored it. A failed push leaves nothing behind that a later one
   * would trip over (an open upload session is cancelled).
   */
  pushBlob(descriptor: Descriptor, open: () => Promise<Readable>, options?: TransferOptions): Promise<void>
  /**
   * Stores manifest bytes under their digest, or under `tag` when one is given; an archive also
   * records `name`, the image's full name (`docker.io/library/nginx`), beside the tag.
   */
  pushManifest(descriptor: Descriptor, bytes: Buffer, tag?: string, name?: string): Promise<void>
}

/** A target that can link a blob from a source on the same storage without moving bytes. */
export interface BlobMounter {
  canMountFrom(source: Source): boolean
  /** True when mounted; false when the target could not, and the blob must be pushed. */
  mountBlob(descriptor: Descriptor, source: Source, options?: TransferOptions): Promise<boolean>
}

export function isBlobMounter(target: Target): target is Target & BlobMounter {
  return typeof (target as Partial<BlobMounter>).mountBlob === 'function'
}

/** A target that can be read as well (a registry repository, a layout): for read-modify-write and mounting from it. */
export function isReadable(target: Target): target is Target & Source {
  return typeof (target as Partial<Source>).fetchManifest === 'function' && typeof (target as Partial<Source>).fetchBlob === 'function'
}

/** A target that holds every blob of some sources already: the same repository, the same layout. */
export interface SharedStorage {
  sharesBlobsWith(source: Source): boolean
}

/** Whether `target` already holds every blob `source` has (a retag in place moves none). */
export function sharesBlobs(target: Target, source: Source): boolean {
  return (
    typeof (target as Partial<SharedStorage>).sharesBlobsWith === 'function' && (target as Target & SharedStorage).sharesBlobsWith(source)
  )
}

/** A target that must record a root written without a tag (a layout lists it in index.json). */
export interface Pinning {
  pin(descriptor: Descriptor, name?: string): Promise<void>
}

export function isPinning(target: Target): target is Target & Pinning {
  return typeof (target as Partial<Pinning>).pin === 'function'
}

/** A source whose blobs are stored in an order: their positions, and whether they must be read in it. */
export interface OrderedSource {
  /** A gzip'd tar: blobs are read one at a time, in {@link OrderedSource.blobOrder}. */
  readonly sequential: boolean
  blobOrder(digest: string): number
}

export function isOrderedSource(source: Source): source is Source & OrderedSource {
  return typeof (source as Partial<OrderedSource>).blobOrder === 'function'
}

/** Opens the stores a copy reads from and writes to: registries, layouts, archives. */
export interface Opener<E> {
  source(endpoint: E): Promise<Source>
  target(endpoint: E): Promise<Target>
}

/**
 * A target that checks every blob's digest itself and refuses a mismatch before storing it (a
 * registry, given `?digest=`): the copy then checks sizes only and spends no CPU hashing twice.
 */
export interface VerifyingTarget {
  readonly verifiesDigests: true
}

export function verifiesDigests(target: Target): boolean {
  return (target as Partial<VerifyingTarget>).verifiesDigests === true
}

/**
 * What a tag list held: the tags by the spec's grammar, in the registry's order, and how many
 * names were not (with the first few of them, to show escaped in a warning).
 */
export interface TagList {
  tags: string[]
  invalid: string[]
  invalidCount: number
}

/** A store that lists its tags (distribution-spec "Listing Tags", every `Link` page, bounded). */
export interface TagLister {
  listTags(): Promise<TagList>
}

export function isTagLister(store: object): store is TagLister {
  return typeof (store as Partial<TagLister>).listTags === 'function'
}

/**
 * A store that tells what a tag or digest points at without reading the manifest: a registry's
 * `HEAD /v2/<name>/manifests/<reference>` (which Docker Hub does not count as a pull).
 * Undefined when there is no such manifest.
 */
export interface ManifestResolver {
  resolveManifest(reference: string): Promise<{ digest: string; mediaType: string; size: number } | undefined>
}

export function isManifestResolver(store: object): store is ManifestResolver {
  return typeof (store as Partial<ManifestResolver>).resolveManifest === 'function'
}

/**
 * A target whose upload session can be opened ahead of the push (alongside the existence check,
 * one round trip instead of two) and abandoned when the blob turns out to be there.
 */
export interface UploadPreparer {
  prepareUpload(descriptor: Descriptor, options?: TransferOptions): Promise<void>
  abandonUpload(descriptor: Descriptor): Promise<void>
}

export function isUploadPreparer(target: Target): target is Target & UploadPreparer {
  return typeof (target as Partial<UploadPreparer>).prepareUpload === 'function'
}

/** A store that can get ready ahead of its first request (a registry's `/v2/` ping). */
export interface Warmable {
  warm(): Promise<void>
}

export function isWarmable(store: object): store is Warmable {
  return typeof (store as Partial<Warmable>).warm === 'function'
}

/**
 * A store holding something until the copies that read it are done (an archive's temporary
 * files): closed once, after its last copy, whether it succeeded or not.
 */
export interface Closable {
  close(): Promise<void>
}

export function isClosable(store: object): store is Closable {
  return typeof (store as Partial<Closable>).close === 'function'
}

/**
 * A store that knows its tags without a request per tag (a layout names them in index.json): "no
 * such tag" is asked of it, not read from an error.
 */
export interface TagIndex {
  hasTag(tag: string): Promise<boolean>
}

export function isTagIndex(store: object): store is TagIndex {
  return typeof (store as Partial<TagIndex>).hasTag === 'function'
}

/** Opens stores, and keeps local ones the caller opened itself (an archive, a package) by path. */
export interface LocalOpener<E> extends Opener<E> {
  addLocal(kind: 'archive' | 'package', path: string, source: Source): void
}

/** What a streamed body held, known once it has ended: the digest and size the upload is closed with. */
export interface StreamedBlob {
  digest: string
  size: number
}

/** A body made as it is sent (a layer compressed on the way): its bytes, and what they were. */
export interface StreamedBody {
  body: Readable
  /** Settles once `body` has ended, or failed. */
  sent: Promise<StreamedBlob>
}

/**
 * A target that takes a blob whose digest and size are known only once its last byte is made
 * (`POST`, one streamed `PATCH`, `PUT ?digest=`, as `docker push` uploads). Registries that refuse
 * it are told apart ({@link StreamingTarget.streamsBlobs}): the caller then spools and pushes whole.
 */
export interface StreamingTarget {
  /** False once this registry has refused a streamed upload (remembered for the run). */
  streamsBlobs(): boolean
  /**
   * Uploads what `open` makes (called once per try) in one session; `what` names it in messages.
   * Rejects with {@link StreamRefusedError} when the registry refuses the streamed body itself.
   */
  pushStreamed(open: () => Promise<StreamedBody>, what: string, options?: TransferOptions): Promise<StreamedBlob>
}

export function isStreamingTarget(target: Target): target is Target & StreamingTarget {
  return typeof (target as Partial<StreamingTarget>).pushStreamed === 'function'
}

/** The registry answered a streamed upload's `PATCH` with a refusal of the way, not of the blob. */
export class StreamRefusedError extends Error {
  constructor(
    readonly registry: string,
    readonly status: number,
    /** The registry had refused one before in this run: nothing new to tell. */
    readonly known = false
  ) {
    super(`${registry} refused a streamed upload (${status}); layers are uploaded whole instead`)
    this.name = 'StreamRefusedError'
  }
}
