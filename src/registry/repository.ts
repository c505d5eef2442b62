/**
 * One repository on a registry, spoken to with the OCI Distribution API (distribution-spec
 * spec.md): pull (manifest and blob GET/HEAD), push (monolithic upload POST + PUT, manifest PUT)
 * and cross-repository mount.
 */
import type { Readable } from 'node:stream'
import { ConnectionError, ContentError, RegistryError } from '../errors.js'
import { shown } from '../escape.js'
import { isDigest, sha256 } from '../digest.js'
import { readCapped } from '../streams.js'
import { discard, headerValue, type RegistryClient, type RegistryRequest, type RegistryResponse } from '../http/client.js'
import { MAX_MANIFEST_BYTES, type Descriptor } from '../manifest.js'
import { baseMediaType, MANIFEST_ACCEPT, OCI_INDEX } from '../media-types.js'
import { parseReferrersIndex, type ReferrersList } from '../referrers.js'
import { isRepositoryName, isTag, showReference } from '../reference.js'
import type { Role } from '../auth/credentials.js'
import type {
  BlobMounter,
  FetchedManifest,
  ManifestResolver,
  SharedStorage,
  Source,
  StreamedBlob,
  StreamedBody,
  StreamingTarget,
  TagList,
  TagLister,
  Target,
  TransferOptions,
  UploadPreparer,
  VerifyingTarget,
  Warmable
} from '../storage.js'
import { StreamRefusedError } from '../storage.js'

const CANCEL_TIMEOUT_MS = 5000
/** Tags asked for per page; registries may give fewer and link to the next page. */
const TAGS_PER_PAGE = 1000
/** Pages of a tag list followed at most, and tags read at most, however a registry pages them. */
export const MAX_TAG_PAGES = 1000
export const MAX_TAGS = 100_000
/** Pages of one referrers answer followed at most: a registry whose `Link`s never end is refused. */
export const MAX_REFERRERS_PAGES = 100
/** Referrers of one subject read at most, however a registry pages them. */
export const MAX_REFERRERS = 10_000

/** Names kept in {@link TagList.invalid} to show; the count covers every one. */
const INVALID_TAGS_KEPT = 3

/** Adds one page's names to the list, one at a time (never a spread: a page may hold 150,000). */
function addTags(list: TagList, names: readonly string[]): void {
  for (const name of names) {
    if (isTag(name)) list.tags.push(name)
    else {
      list.invalidCount++
      if (list.invalid.length < INVALID_TAGS_KEPT) list.invalid.push(name)
    }
  }
}

/**
 * Page sizes (`n`) a registry took, per client, once it refused ours: distribution 3 answers
 * `400 PAGINATION_NUMBER_INVALID` above its `tags.maxtags`, Quay refused `n > 100`. 0: ask no `n`.
 */
const tagPageSizes = new WeakMap<RegistryClient, number>()

/** Page sizes tried in turn after a refusal: the spec's promise of 100, then the registry's own. */
const FALLBACK_PAGE_SIZES = [100, 0] as const

/**
 * The smaller `n` to ask again with when `error` is the registry refusing the page size (a 400
 * on the first page with `PAGINATION_NUMBER_INVALID` or no code at all), or undefined when it is
 * not or none is left.
 */
function smallerPageSize(error: unknown, asked: number): number | undefined {
  if (!(error instanceof RegistryError) || error.status !== 400 || asked === 0) return undefined
  // The spec's code, or a 400 that names none (Quay's); another code is another problem.
  const refusal = error.details.length === 0 || error.details.some((d) => d.code === 'PAGINATION_NUMBER_INVALID')
  return refusal ? FALLBACK_PAGE_SIZES.find((size) => size < asked) : undefined
}

/**
 * Statuses a registry answers a streamed `PATCH` (no `Content-Length`, no `Content-Range`) with
 * when it takes no such upload: bad request, method not allowed, length required, too large,
 * range not satisfiable, not implemented. Remembered per client: later layers spool at once.
 */
const STREAM_REFUSALS = new Set([400, 405, 411, 413, 416, 501])
const streamRefusals = new WeakMap<RegistryClient, number>()

/**
 * An upload session's URL with `digest=` added to the query it came with, which is kept as the
 * registry wrote it (PEERS "Everywhere": a `_state` token must not be re-encoded).
 */
export function withDigest(location: string, digest: string): string {
  const url = new URL(location)
  const kept = url.search
    .slice(1)
    .split('&')
    .filter((part) => part !== '' && !part.startsWith('digest='))
  return `${url.origin}${url.pathname}?${[...kept, `digest=${encodeURIComponent(digest)}`].join('&')}`
}

/** Statuses some registries refuse a mount with, instead of opening an upload (202). */
const MOUNT_REFUSALS: ReadonlySet<number> = new Set([400, 401, 403, 404])

/** `upload`: not mounted, but the registry opened an upload session for the blob (spec: 202). */
type MountResult = 'mounted' | 'upload' | 'refused'

/**
 * Whether mounting from each repository may work, per client — one registry as one set of
 * credentials sees it — so every repository object on it shares what was learned: all blobs of a
 * copy and later destinations on the same registry. Separate copies have separate clients. Only
 * error refusals are kept: a 202 opened the upload the blob needs anyway, so trying costs nothing.
 */
const mountVerdicts = new WeakMap<RegistryClient, Map<string, Promise<boolean>>>()

function mountVerdictsOf(client: RegistryClient): Map<string, Promise<boolean>> {
  let verdicts = mountVerdicts.get(client)
  if (!verdicts) {
    verdicts = new Map<string, Promise<boolean>>()
    mountVerdicts.set(client, verdicts)
  }
  return verdicts
}

/** A response body read whole (capped); a connection that breaks mid-body is a transient fault. */
async function readBody(body: Readable, where: string): Promise<Buffer> {
  try {
    return await readCapped(body, MAX_MANIFEST_BYTES, 'manifest')
  } catch (error) {
    if (error instanceof ContentError) throw new ContentError(where, error.problem)
    const code = (error as { code?: string }).code
    throw new ConnectionError('read manifest', where, (error as Error).message, undefined, code ?? 'UND_ERR_SOCKET')
  }
}

/**
 * The `rel="next"` target of a `Link` header (RFC 8288: `<url>; rel="next"`, several links
 * separated by commas, `rel` a space-separated list), resolved against the URL that answered,
 * since registries send relative links (PEERS "Everywhere"); undefined on the last page.
 */
export function nextLink(header: string | undefined, base: string): string | undefined {
  for (const [, target, params] of (header ?? '').matchAll(/<([^>]*)>([^,]*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(params)
    const relations = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/)
    if (relations.includes('next')) return new URL(target, base).href
  }
  return undefined
}

export class RegistryRepository
  implements
    Source,
    Target,
    BlobMounter,
    SharedStorage,
    VerifyingTarget,
    TagLister,
    ManifestResolver,
    UploadPreparer,
    Warmable,
    StreamingTarget
{
  /** `registry/repository`, for messages. */
  readonly name: string
  /** The registry checks each blob against the `?digest=` of its PUT (distribution-spec) and refuses a mismatch. */
  readonly verifiesDigests = true
  /** Upload sessions a refused mount opened (spec: a 202 answer to a mount is an upload). */
  private readonly pendingUploads = new Map<string, string>()

  /** Token scopes for every request here: pull to read, pull and push to write (token.md "Scope"). */
  private readonly scopes: readonly string[]

  constructor(
    readonly registry: string,
    readonly repository: string,
    role: Role,
    private readonly client: RegistryClient
  ) {
    // Names become URL path segments: only the spec's grammar gets that far (a reference from
    // a config, an archive or a registry was parsed before; this guards every other way in).
    if (!isRepositoryName(repository)) throw new ContentError(registry, `${shown(repository)} is not a repository name`)
    this.name = `${registry}/${repository}`
    this.scopes = [`repository:${repository}:${role === 'source' ? 'pull' : 'pull,push'}`]
  }

  async fetchManifest(reference: string): Promise<FetchedManifest> {
    const req: RegistryRequest = {
      method: 'GET',
      url: this.path('manifests', reference),
      headers: { accept: MANIFEST_ACCEPT },
      operation: 'fetch manifest',
      reference: this.show(reference),
      accept: [200]
    }
    // The body is read inside each try: a manifest cut short is fetched again.
    return this.client.requestAndRead({ ...req, scopes: this.scopes }, async (res) => {
      const length = Number(headerValue(res.headers, 'content-length') ?? 0)
      if (length > MAX_MANIFEST_BYTES) {
        await discard(res.body)
        throw new ContentError(this.show(reference), `manifest is larger than ${MAX_MANIFEST_BYTES} bytes`)
      }
      const bytes = await readBody(res.body, this.show(reference))
      return {
        bytes,
        contentType: headerValue(res.headers, 'content-type'),
        claimedDigest: headerValue(res.headers, 'docker-content-digest')
      }
    })
  }

  async fetchBlob(descriptor: Descriptor, options: TransferOptions = {}): Promise<Readable> {
    const res = await this.request({
      ...(options.signal ? { signal: options.signal } : {}),
      method: 'GET',
      url: this.path('blobs', descriptor.digest),
      operation: 'fetch blob',
      reference: this.show(descriptor.digest),
      accept: [200],
      followRedirects: true
    })
    return res.body
  }

  /**
   * The referrers API (distribution-spec "Listing Referrers"): its descriptors when the registry
   * answers 200 with an OCI index, undefined when it has no such API (404, or another type, as
   * Harbor before 2.11 answered). Pages linked by `Link: <url>; rel="next"` are followed, at most
   * {@link MAX_REFERRERS_PAGES}. No `artifactType` filter is asked for, so `OCI-Filters-Applied`
   * has nothing to tell us.
   */
  async listReferrers(digest: string): Promise<ReferrersList | undefined> {
    const list: ReferrersList = { referrers: [], skipped: [] }
    if (!isDigest(digest)) throw new ContentError(this.name, `${shown(digest)} is not a digest; its referrers are not asked for`)
    let url: string | undefined = `/v2/${this.repository}/referrers/${digest}`
    for (let page = 1; url !== undefined; page++) {
      if (page > MAX_REFERRERS_PAGES) {
        throw new ContentError(
          `page ${MAX_REFERRERS_PAGES} of the answer`,
          `links to another (Link rel="next"); more than ${MAX_REFERRERS_PAGES} pages are not followed`
        )
      }
      const answer = await this.referrersPage(url, digest, page)
      if (!answer) return undefined
      for (const referrer of answer.list.referrers) list.referrers.push(referrer)
      for (const skipped of answer.list.skipped) list.skipped.push(page === 1 ? skipped : `page ${page}: ${skipped}`)
      if (list.referrers.length > MAX_REFERRERS) {
        throw new ContentError(this.show(digest), `has more than ${MAX_REFERRERS} referrers; not read further`)
      }
      url = answer.next
    }
    return list
  }

  /** One page of a referrers answer, read inside the retry; undefined when the first shows there is no API. */
  private referrersPage(url: string, digest: string, page: number): Promise<{ list: ReferrersList; next?: string } | undefined> {
    const req: RegistryRequest = {
      method: 'GET',
      url,
      headers: { accept: OCI_INDEX },
      operation: 'list referrers',
      reference: this.show(digest),
      // Only the first answer says whether there is an API; a page it links to must be there.
      accept: page === 1 ? [200, 400, 404, 405] : [200]
    }
    return this.client.requestAndRead({ ...req, scopes: this.scopes }, async (res) => {
      const contentType = baseMediaType(headerValue(res.headers, 'content-type'))
      if (res.status !== 200 || contentType !== OCI_INDEX) {
        await discard(res.body)
        if (page === 1) return undefined
        throw new ContentError(`page ${page} of the answer`, `is ${contentType ? shown(contentType, 80) : 'untyped'}, not ${OCI_INDEX}`)
      }
      const where = `page ${page} of the answer`
      const list = parseReferrersIndex(await readBody(res.body, where), where)
      const next = nextLink(headerValue(res.headers, 'link'), res.url)
      if (next !== undefined && !this.isOwnPage(next, `/v2/${this.repository}/referrers/${digest}`)) {
        throw new ContentError(
          where,
          `links its next page (Link rel="next") outside the referrers of ${this.show(digest)}: ${shown(next)}; not followed`
        )
      }
      return next === undefined ? { list } : { list, next }
    })
  }

  /**
   * Every tag (distribution-spec "Listing Tags"): `GET /v2/<name>/tags/list?n=…`, following
   * `Link: <url>; rel="next"` pages (ECR gives 1000 a page, ACR 100, Quay relative links), at
   * most {@link MAX_TAG_PAGES} pages and {@link MAX_TAGS} tags. A repository that does not exist
   * is an error (404 NAME_UNKNOWN), not a list of none: a mistyped source must not mirror nothing
   * in silence. The list is the registry's word, so a name that is not a tag by the spec's
   * grammar (`../../other/manifests/latest`, a newline) is set apart in `invalid`, never returned
   * as a tag; a page linking off this repository's list is refused.
   */
  async listTags(): Promise<TagList> {
    const list: TagList = { tags: [], invalid: [], invalidCount: 0 }
    const seen = new Set<string>()
    let pageSize = tagPageSizes.get(this.client) ?? TAGS_PER_PAGE
    let url: string | undefined = this.tagsUrl(pageSize)
    for (let page = 1; url !== undefined; page++) {
      if (page > MAX_TAG_PAGES) {
        throw new ContentError(this.name, `the tag list links to more than ${MAX_TAG_PAGES} pages (Link rel="next"); not followed further`)
      }
      if (seen.has(url)) throw new ContentError(this.name, `the tag list links back to a page it gave already; not followed`)
      seen.add(url)
      let answer: { tags: string[]; next?: string }
      try {
        answer = await this.tagsPage(url, page)
      } catch (error) {
        const smaller = page === 1 ? smallerPageSize(error, pageSize) : undefined
        if (smaller === undefined) throw error
        // The registry caps `n` lower than we asked (distribution 3's `tags.maxtags`, Quay's 100):
        // asked again smaller, and remembered for this registry's later lists.
        pageSize = smaller
        tagPageSizes.set(this.client, smaller)
        seen.clear()
        url = this.tagsUrl(smaller)
        page = 0
        continue
      }
      addTags(list, answer.tags)
      if (list.tags.length > MAX_TAGS) throw new ContentError(this.name, `lists more than ${MAX_TAGS} tags; not read further`)
      url = answer.next
    }
    return list
  }

  /** The first page's URL: `n` asked for unless 0 (the registry's own page size). */
  private tagsUrl(pageSize: number): string {
    return `/v2/${this.repository}/tags/list${pageSize > 0 ? `?n=${pageSize}` : ''}`
  }

  private tagsPage(url: string, page: number): Promise<{ tags: string[]; next?: string }> {
    const req: RegistryRequest = {
      method: 'GET',
      url,
      operation: 'list tags',
      reference: this.name,
      accept: [200]
    }
    return this.client.requestAndRead({ ...req, scopes: this.scopes }, async (res) => {
      const where = `${this.name} tag list page ${page}`
      let json: unknown
      try {
        json = JSON.parse((await readBody(res.body, where)).toString('utf8'))
      } catch (error) {
        if (error instanceof ContentError || error instanceof ConnectionError) throw error
        throw new ContentError(where, 'is not valid JSON')
      }
      const tags = (json as { tags?: unknown } | null)?.tags ?? []
      if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))
        throw new ContentError(where, '"tags" is not a list of strings')
      const next = nextLink(headerValue(res.headers, 'link'), res.url)
      if (next !== undefined && !this.isOwnPage(next, `/v2/${this.repository}/tags/list`)) {
        throw new ContentError(where, `links its next page (Link rel="next") outside ${this.name}'s tag list: ${shown(next)}; not followed`)
      }
      return next === undefined ? { tags } : { tags, next }
    })
  }

  /** Whether `url` is `path` on this registry (any query: `n`, `last`): a page of the same list. */
  private isOwnPage(url: string, path: string): boolean {
    const target = new URL(url)
    return target.origin === this.client.origin && target.pathname === path
  }

  /**
   * What a tag or digest points at, by `HEAD` alone (Docker Hub does not count a HEAD as a pull):
   * the `Docker-Content-Digest`, `Content-Type` and `Content-Length` the registry answers with.
   * Undefined when there is no such manifest. A registry that sends no digest for a tag is asked
   * with a GET instead, and the bytes are hashed.
   */
  async resolveManifest(reference: string): Promise<{ digest: string; mediaType: string; size: number } | undefined> {
    const res = await this.request({
      method: 'HEAD',
      url: this.path('manifests', reference),
      headers: { accept: MANIFEST_ACCEPT },
      operation: 'check manifest',
      reference: this.show(reference),
      accept: [200, 404]
    })
    await discard(res.body)
    if (res.status === 404) return undefined
    const claimed = headerValue(res.headers, 'docker-content-digest')
    const digest = isDigest(reference) ? reference : claimed
    const mediaType = baseMediaType(headerValue(res.headers, 'content-type')) ?? ''
    const size = Number(headerValue(res.headers, 'content-length') ?? NaN)
    if (digest && isDigest(digest) && Number.isSafeInteger(size)) return { digest, mediaType, size }
    const fetched = await this.fetchManifest(reference)
    return { digest: sha256(fetched.bytes), mediaType: baseMediaType(fetched.contentType) ?? mediaType, size: fetched.bytes.length }
  }

  manifestExists(descriptor: Descriptor): Promise<boolean> {
    return this.exists('manifests', descriptor, 'check manifest')
  }

  blobExists(descriptor: Descriptor): Promise<boolean> {
    return this.exists('blobs', descriptor, 'check blob')
  }

  private async exists(kind: 'manifests' | 'blobs', descriptor: Descriptor, operation: string): Promise<boolean> {
    const res = await this.request({
      method: 'HEAD',
      url: this.path(kind, descriptor.digest),
      headers: kind === 'manifests' ? { accept: MANIFEST_ACCEPT } : {},
      operation,
      reference: this.show(descriptor.digest),
      accept: [200, 404],
      followRedirects: true
    })
    await discard(res.body)
    return res.status === 200
  }

  /** The same repository: every blob of the source is here already. */
  sharesBlobsWith(source: Source): boolean {
    return source instanceof RegistryRepository && source.registry === this.registry && source.repository === this.repository
  }

  canMountFrom(source: Source): boolean {
    return source instanceof RegistryRepository && source.registry === this.registry && source.repository !== this.repository
  }

  /**
   * Mounts from another repository of this registry (distribution-spec "Mounting a blob from
   * another repository"). A refusal the registry answers as an error costs a round trip, so it is
   * remembered for the source repository: the first blob finds out, the others wait for its answer
   * and, when refused, go straight to an upload.
   */
  async mountBlob(descriptor: Descriptor, source: Source, options: TransferOptions = {}): Promise<boolean> {
    const from = (source as RegistryRepository).repository
    const verdicts = mountVerdictsOf(this.client)
    const earlier = verdicts.get(from)
    if (earlier !== undefined && !(await earlier)) return false
    const outcome = this.tryMount(descriptor, from, options)
    if (earlier === undefined) {
      verdicts.set(
        from,
        outcome.then(
          (result) => result !== 'refused',
          () => {
            // Neither mounted nor refused (the request failed): the next blob asks for itself.
            verdicts.delete(from)
            return true
          }
        )
      )
    }
    const result = await outcome
    if (result === 'refused') verdicts.set(from, Promise.resolve(false))
    return result === 'mounted'
  }

  private async tryMount(descriptor: Descriptor, from: string, options: TransferOptions): Promise<MountResult> {
    const query = `?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(from)}`
    let res: RegistryResponse
    try {
      res = await this.request({
        method: 'POST',
        url: `/v2/${this.repository}/blobs/uploads/${query}`,
        headers: { 'content-length': '0' },
        operation: 'mount blob',
        reference: this.show(descriptor.digest),
        accept: [201, 202],
        ...(options.signal ? { signal: options.signal } : {}),
        // Mounting reads the other repository: the token must say so (token.md, "Scope").
        scopes: [...this.scopes, `repository:${from}:pull`]
      })
    } catch (error) {
      // Where others open an upload (202), some registries refuse a mount with an error: Harbor
      // with 400, 401 or 403, others with 404. The blob is uploaded instead, and a real problem
      // (permissions, a repository that must be created first) shows on that upload.
      if (error instanceof RegistryError && MOUNT_REFUSALS.has(error.status)) return 'refused'
      throw error
    }
    await discard(res.body)
    const location = headerValue(res.headers, 'location')
    if (res.status === 202 && location) this.pendingUploads.set(descriptor.digest, new URL(location, res.url).href)
    return res.status === 201 ? 'mounted' : 'upload'
  }

  /**
   * One monolithic PUT of the whole blob (distribution-spec "Pushing a blob monolithically"),
   * never chunks: ECR's chunked uploads drop later parts, ghcr.io refuses PATCH bodies over
   * 4 MiB and Google Artifact Registry takes no chunks at all (PEERS "Hosted registries").
   */
  async pushBlob(descriptor: Descriptor, open: () => Promise<Readable>, options: TransferOptions = {}): Promise<void> {
    const signal = options.signal ? { signal: options.signal } : {}
    const location = this.pendingUploads.get(descriptor.digest) ?? (await this.startUpload(this.show(descriptor.digest), options))
    this.pendingUploads.delete(descriptor.digest)
    let source: Readable | undefined
    try {
      source = await open()
      const res = await this.request({
        method: 'PUT',
        url: withDigest(location, descriptor.digest),
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) },
        body: source,
        operation: 'upload blob',
        reference: this.show(descriptor.digest),
        accept: [201, 204],
        ...signal
      })
      await discard(res.body)
    } catch (error) {
      // Release the download too, whichever side failed first, and close the session we opened.
      source?.destroy()
      await this.cancelUpload(location, this.show(descriptor.digest))
      throw error
    }
  }

  streamsBlobs(): boolean {
    return !streamRefusals.has(this.client)
  }

  /**
   * `POST`, one `PATCH` whose body is the whole blob as it is made (chunked transfer encoding: its
   * length is not known yet; never a `Content-Range`, which makes it a chunk that ghcr.io caps at
   * 4 MiB), then `PUT ?digest=` with no body: the sequence `docker push`, containers/image and
   * go-containerregistry use everywhere. The `PATCH` may be answered 202 (the spec) or 201 (ECR,
   * whose `Range` can lag: it is not read). A registry asking for chunks of at least
   * `OCI-Chunk-Min-Length` bytes takes this one, the last and only chunk. A refusal of the
   * streamed body itself ({@link STREAM_REFUSALS}) is remembered for the registry.
   */
  async pushStreamed(open: () => Promise<StreamedBody>, what: string, options: TransferOptions = {}): Promise<StreamedBlob> {
    const refused = streamRefusals.get(this.client)
    if (refused !== undefined) throw new StreamRefusedError(this.registry, refused, true)
    const signal = options.signal ? { signal: options.signal } : {}
    const reference = `${this.name} (${what})`
    let session = await this.startUpload(reference, options)
    let body: Readable | undefined
    try {
      const streamed = await open()
      body = streamed.body
      let res: RegistryResponse
      try {
        res = await this.request({
          method: 'PATCH',
          url: session,
          headers: { 'content-type': 'application/octet-stream' },
          body,
          operation: 'upload blob',
          reference,
          accept: [201, 202],
          ...signal
        })
      } catch (error) {
        if (error instanceof RegistryError && STREAM_REFUSALS.has(error.status)) {
          const known = streamRefusals.has(this.client)
          streamRefusals.set(this.client, error.status)
          throw new StreamRefusedError(this.registry, error.status, known)
        }
        throw error
      }
      await discard(res.body)
      const next = headerValue(res.headers, 'location')
      if (next) session = new URL(next, res.url).href
      const blob = await streamed.sent
      const closed = await this.request({
        method: 'PUT',
        url: withDigest(session, blob.digest),
        headers: { 'content-length': '0' },
        operation: 'upload blob',
        reference: this.show(blob.digest),
        accept: [201, 204],
        ...signal
      })
      await discard(closed.body)
      const stored = headerValue(closed.headers, 'docker-content-digest')
      if (stored && stored !== blob.digest) {
        throw new ContentError(this.show(blob.digest), `the registry stored the upload as ${shown(stored)}, expected ${blob.digest}`)
      }
      return blob
    } catch (error) {
      body?.destroy()
      await this.cancelUpload(session, reference)
      throw error
    }
  }

  /**
   * Opens the upload session of a blob ahead of its push (alongside its existence check, say):
   * {@link pushBlob} then uses it. Resolves once the session is open.
   */
  async prepareUpload(descriptor: Descriptor, options: TransferOptions = {}): Promise<void> {
    if (this.pendingUploads.has(descriptor.digest)) return
    this.pendingUploads.set(descriptor.digest, await this.startUpload(this.show(descriptor.digest), options))
  }

  /** Closes a session {@link prepareUpload} opened and no push will use (the blob was there). */
  async abandonUpload(descriptor: Descriptor): Promise<void> {
    const location = this.pendingUploads.get(descriptor.digest)
    if (location === undefined) return
    this.pendingUploads.delete(descriptor.digest)
    await this.cancelUpload(location, this.show(descriptor.digest))
  }

  /** Pings the registry now, so that round trip overlaps the reading of the source. */
  warm(): Promise<void> {
    return this.client.warm()
  }

  /** DELETE on an upload session (spec: "Canceling an upload"), best effort and bounded. */
  private async cancelUpload(session: string, reference: string): Promise<void> {
    try {
      const res = await this.client.request({
        method: 'DELETE',
        url: session,
        operation: 'cancel upload',
        reference,
        // Distribution asks for a `delete` grant here, which a push token lacks: a refusal is
        // accepted as it is (no token refresh for it), since the session expires anyway.
        accept: [200, 202, 204, 401, 403, 404],
        scopes: this.scopes,
        signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS)
      })
      await discard(res.body)
    } catch {
      // The registry forgets abandoned sessions by itself; this only tidies up sooner.
    }
  }

  /** POST to open an upload session; the `Location` it answers is where the bytes go. */
  private async startUpload(reference: string, options: TransferOptions): Promise<string> {
    const res = await this.request({
      ...(options.signal ? { signal: options.signal } : {}),
      method: 'POST',
      url: `/v2/${this.repository}/blobs/uploads/`,
      headers: { 'content-length': '0' },
      operation: 'start upload',
      reference,
      accept: [202]
    })
    await discard(res.body)
    const location = headerValue(res.headers, 'location')
    if (!location) throw new ContentError(reference, 'the registry opened an upload without a Location')
    return new URL(location, res.url).href
  }

  async pushManifest(descriptor: Descriptor, bytes: Buffer, tag?: string): Promise<void> {
    const reference = tag ?? descriptor.digest
    const res = await this.request({
      method: 'PUT',
      url: this.path('manifests', reference),
      headers: { 'content-type': descriptor.mediaType },
      body: bytes,
      operation: 'push manifest',
      reference: this.show(reference),
      // 201 is what the spec says; some registries answer 200 or 202 for the same success.
      accept: [200, 201, 202]
    })
    await discard(res.body)
    const stored = headerValue(res.headers, 'docker-content-digest')
    if (stored && stored !== descriptor.digest) {
      throw new ContentError(this.show(reference), `the registry stored the manifest as ${stored}, expected ${descriptor.digest}`)
    }
  }

  private request(req: RegistryRequest): Promise<RegistryResponse> {
    return this.client.request({ ...req, scopes: req.scopes ?? this.scopes })
  }

  /** The URL path of a manifest or blob; `reference` must be a tag or digest by the spec's grammar. */
  private path(kind: 'manifests' | 'blobs', reference: string): string {
    if (!(kind === 'manifests' ? isTag(reference) || isDigest(reference) : isDigest(reference))) {
      throw new ContentError(this.name, `${shown(reference)} is not a ${kind === 'manifests' ? 'tag or ' : ''}digest; not asked for`)
    }
    return `/v2/${this.repository}/${kind}/${reference}`
  }

  private show(reference: string): string {
    return showReference(this.name, reference)
  }
}
