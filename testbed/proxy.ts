/**
 * A recording proxy in front of a test registry: every request is recorded before it is
 * forwarded, so a test can assert what a copy did (and did not) ask for. It can also make the
 * registry misbehave, or behave as some do: refuse mounts, serve corrupted blobs, redirect blob
 * downloads to another host, answer the referrers API that distribution lacks.
 */
import { createHash } from 'node:crypto'
import {
  createServer,
  request as forward,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { Transform } from 'node:stream'

export interface RecordedRequest {
  method: string
  path: string
  /** Whether the request carried an Authorization header (its value is never kept). */
  authorization: boolean
  /** Every other header as it arrived on the wire (names lowercase). */
  headers: IncomingHttpHeaders
}

/** What the proxy answers itself instead of forwarding. */
export interface CannedResponse {
  status: number
  headers?: OutgoingHttpHeaders
  body?: string
}

export interface ProxyFaults {
  /** Mount requests reach the registry without `mount`/`from`: it opens a plain upload (202). */
  refuseMounts: boolean
  /** Blob downloads arrive with their first byte changed (same length, other digest). */
  corruptBlobs: boolean
  /** Blob downloads are answered `307` to the same path on this host (a storage host, say). */
  redirectBlobsTo?: string
  /** Answers a request without asking the registry when it returns a response. */
  answer?: (request: RecordedRequest) => CannedResponse | undefined
  /** Changes the registry's response (status, headers) before it goes back to the client. */
  editResponse?: (request: RecordedRequest, response: { status: number; headers: IncomingHttpHeaders }) => void
  /** Changes the path a request is forwarded with (a Location rewritten earlier, mapped back). */
  rewritePath?: (path: string) => string
  /** Faults applied to the requests they match, each to its first `times` matches. */
  rules: FaultRule[]
}

/** What a fault rule does to a request it matches. */
export type FaultAction =
  /** Answer this status (a registry error body; `Retry-After` when given). */
  | { status: number; retryAfter?: string }
  /** Close the connection without an answer. */
  | { reset: true }
  /** Forward, then send only the first half of the response body and close the connection. */
  | { cutBody: true }
  /** Hold the request this long before forwarding it. */
  | { delayMs: number }

export interface FaultRule {
  match: (request: RecordedRequest) => boolean
  /** How many matching requests it applies to; Infinity for all. */
  times: number
  action: FaultAction
  /** How many requests it has applied to so far. */
  hits?: number
}

/** A registry error body (distribution-spec "Error Codes"). */
export function registryError(status: number, code: string, message: string): CannedResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errors: [{ code, message }] }) }
}

/** The referrers API as a registry with it answers, from the manifests pushed through the proxy. */
export interface ReferrersApiOptions {
  /** Descriptors per answer; the rest follow on pages linked by a relative `Link: <…>; rel="next"`. All on one by default. */
  pageSize?: number
}

export interface ProxyOptions {
  /**
   * Answer `GET /v2/<name>/referrers/<digest>` as distribution-spec "Listing Referrers" says, from
   * every manifest with a `subject` pushed through this proxy. Off by default: such a request
   * reaches distribution, which has no referrers API (404).
   */
  referrersApi?: ReferrersApiOptions
}

export interface RecordingProxy {
  /** `127.0.0.1:PORT`: use it in references instead of the registry's host. */
  host: string
  requests: RecordedRequest[]
  faults: ProxyFaults
  /** As given to {@link startProxy}; may be changed while it runs (a page size, say). */
  options: ProxyOptions
  /** Forgets what was recorded so far. */
  reset(): void
  stop(): Promise<void>
}

/** Starts a proxy to the registry on `upstreamPort`, listening on `address` (another loopback address makes another host). */
export async function startProxy(upstreamPort: number, address = '127.0.0.1', options: ProxyOptions = {}): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = []
  const referrers = new ReferrersIndex()
  const faults: ProxyFaults = { refuseMounts: false, corruptBlobs: false, rules: [] }
  const server: Server = createServer((req, res) => {
    const rule = faults.rules.find((r) => (r.hits ?? 0) < r.times && r.match(recordOf(req)))
    if (rule) rule.hits = (rule.hits ?? 0) + 1
    const action = rule?.action
    if (action && 'delayMs' in action) {
      const timer = setTimeout(() => handle(req, res, undefined, true), action.delayMs)
      res.on('close', () => clearTimeout(timer))
      requests.push(recordOf(req))
      return
    }
    handle(req, res, action)
  })
  const recordOf = (req: IncomingMessage): RecordedRequest => {
    const { authorization, ...headers } = req.headers
    return { method: req.method ?? '', path: req.url ?? '', authorization: authorization !== undefined, headers }
  }
  const handle = (req: IncomingMessage, res: ServerResponse, action: FaultAction | undefined, delayed = false): void => {
    const recorded = recordOf(req)
    const method = recorded.method
    let path = faults.rewritePath ? faults.rewritePath(recorded.path) : recorded.path
    if (!delayed) requests.push(recorded)
    if (action && 'reset' in action) {
      req.socket.destroy()
      return
    }
    if (action && 'status' in action) {
      req.resume()
      const canned = registryError(action.status, action.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', 'injected fault')
      res
        .writeHead(canned.status, { ...canned.headers, ...(action.retryAfter !== undefined ? { 'retry-after': action.retryAfter } : {}) })
        .end(canned.body)
      return
    }
    const canned = faults.answer?.(recorded)
    if (canned) {
      req.resume()
      res.writeHead(canned.status, canned.headers).end(canned.body)
      return
    }
    const listing = options.referrersApi && method === 'GET' ? referrers.answer(path, options.referrersApi) : undefined
    if (listing) {
      req.resume()
      res.writeHead(listing.status, listing.headers).end(listing.body)
      return
    }
    if (faults.redirectBlobsTo && method === 'GET' && path.includes('/blobs/sha256:')) {
      res.writeHead(307, { location: `http://${faults.redirectBlobsTo}${path}` }).end()
      return
    }
    if (faults.refuseMounts && method === 'POST' && path.includes('mount=')) path = path.slice(0, path.indexOf('?'))
    const corrupt = faults.corruptBlobs && method === 'GET' && path.includes('/blobs/sha256:')
    // Manifest bodies are kept as they pass, for the referrers API: a stored one with `subject` is listed.
    const manifestBody: Buffer[] | undefined = method === 'PUT' && MANIFEST_PATH.test(path) ? [] : undefined
    if (manifestBody) req.on('data', (chunk: Buffer) => manifestBody.push(chunk))
    // The Host header goes through unchanged, so the registry's Locations point back at us.
    const upstream = forward({ host: '127.0.0.1', port: upstreamPort, method, path, headers: req.headers }, (up) => {
      const response = { status: up.statusCode ?? 502, headers: up.headers }
      if (manifestBody && response.status === 201) referrers.add(path, req.headers['content-type'], Buffer.concat(manifestBody))
      faults.editResponse?.(recorded, response)
      res.writeHead(response.status, response.headers)
      if (action && 'cutBody' in action) up.pipe(cutInHalf(Number(up.headers['content-length'] ?? 0), () => req.socket.destroy())).pipe(res)
      else if (corrupt && up.statusCode === 200) up.pipe(flipFirstByte()).pipe(res)
      else up.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  }
  await new Promise<void>((resolve) => server.listen(0, address, resolve))
  const { port } = server.address() as AddressInfo
  return {
    host: `${address}:${port}`,
    requests,
    faults,
    options,
    reset: () => {
      requests.splice(0, requests.length)
      faults.refuseMounts = false
      faults.corruptBlobs = false
      delete faults.redirectBlobsTo
      delete faults.answer
      delete faults.editResponse
      delete faults.rewritePath
      faults.rules = []
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/**
 * Passes the first half of `length` bytes (half the first chunk when the length is not known),
 * then calls `cut` (which closes the connection).
 */
function cutInHalf(length: number, cut: () => void): Transform {
  let left = length > 0 ? Math.floor(length / 2) : -1
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (left === -1) left = Math.max(1, Math.floor(chunk.length / 2))
      if (left <= 0) return done()
      const part = chunk.subarray(0, left)
      left -= part.length
      done(null, part)
      if (left <= 0) setImmediate(cut)
    }
  })
}

function flipFirstByte(): Transform {
  let first = true
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (first && chunk.length > 0) {
        chunk = Buffer.from(chunk)
        chunk[0] ^= 0xff
        first = false
      }
      done(null, chunk)
    }
  })
}

const MANIFEST_PATH = /^\/v2\/(.+)\/manifests\/[^/?]+$/
const REFERRERS_PATH = /^\/v2\/(.+)\/referrers\/([^/]+)$/
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

/**
 * What a referrers-capable registry keeps: for each repository and subject digest, the
 * descriptors of the manifests pushed with that `subject` (distribution-spec "Listing Referrers":
 * `artifactType` from the manifest, else its config's media type; its annotations).
 */
class ReferrersIndex {
  private readonly bySubject = new Map<string, Map<string, Record<string, unknown>>>()

  add(path: string, contentType: string | undefined, bytes: Buffer): void {
    const name = MANIFEST_PATH.exec(path)?.[1]
    let json: {
      mediaType?: unknown
      artifactType?: unknown
      config?: { mediaType?: unknown }
      subject?: { digest?: unknown }
      annotations?: unknown
    }
    try {
      json = JSON.parse(bytes.toString('utf8')) as typeof json
    } catch {
      return
    }
    const subject = json?.subject?.digest
    if (name === undefined || typeof subject !== 'string') return
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    const artifactType = json.artifactType || json.config?.mediaType
    const key = `${name}@${subject}`
    if (!this.bySubject.has(key)) this.bySubject.set(key, new Map())
    this.bySubject.get(key)?.set(digest, {
      mediaType: typeof json.mediaType === 'string' ? json.mediaType : contentType,
      digest,
      size: bytes.length,
      ...(artifactType ? { artifactType } : {}),
      ...(json.annotations ? { annotations: json.annotations } : {})
    })
  }

  /** The answer to a referrers request (`?artifactType=` filters, `?offset=` is a later page), or undefined for any other path. */
  answer(path: string, options: ReferrersApiOptions): CannedResponse | undefined {
    const url = new URL(path, 'http://proxy')
    const match = REFERRERS_PATH.exec(url.pathname)
    if (!match) return undefined
    const filter = url.searchParams.get('artifactType')
    const all = [...(this.bySubject.get(`${match[1]}@${match[2]}`)?.values() ?? [])].filter((d) => !filter || d.artifactType === filter)
    const offset = Number(url.searchParams.get('offset') ?? 0)
    const size = options.pageSize ?? Math.max(all.length, 1)
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: all.slice(offset, offset + size) })
    const headers: OutgoingHttpHeaders = { 'content-type': OCI_INDEX, 'content-length': Buffer.byteLength(body) }
    if (filter) headers['oci-filters-applied'] = 'artifactType'
    if (offset + size < all.length) {
      url.searchParams.set('offset', String(offset + size))
      headers.link = `<${url.pathname}${url.search}>; rel="next"`
    }
    return { status: 200, headers, body }
  }
}
