/**
 * The one place where HTTP happens. A {@link RegistryClient} talks to one registry origin with one
 * set of credentials: it pings `/v2/` once, answers `401` challenges, follows redirects without
 * leaking the Authorization header to other hosts, turns refusals into {@link RegistryError}s and
 * logs every request at debug level without secrets. Retries and token auth belong here too.
 */
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { ConnectionError, ContentError, RegistryError, type RegistryErrorDetail } from '../errors.js'
import { DigestMismatchError } from '../digest.js'
import type { Credentials } from '../auth/credentials.js'
import type { Logger } from '../log.js'
import { parseChallenges } from './challenge.js'

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE'

export interface RegistryRequest {
  method: Method
  /** A path with query on the registry's origin (`/v2/…`), or an absolute URL (upload locations). */
  url: string
  headers?: Record<string, string>
  /** A Buffer can be sent again after a challenge; a stream only once, so authenticate first. */
  body?: Buffer | Readable
  /** What we were doing, for messages: `fetch manifest`, `upload blob`. */
  operation: string
  /** What it was done to, for messages: `localhost:5000/app:v1`. */
  reference: string
  /** Statuses the caller handles; any other becomes a {@link RegistryError}. */
  accept: readonly number[]
  /** Follow 3xx redirects (blob downloads are often sent to a storage host). */
  followRedirects?: boolean
}

export interface RegistryResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Dispatcher.ResponseData['body']
  /** The URL that answered, after redirects: relative Locations resolve against it. */
  url: string
}

export interface RegistryClientOptions {
  /** `https://ghcr.io`, `http://127.0.0.1:5000`. */
  origin: string
  /** The registry as users name it, for messages and hints. */
  registry: string
  credentials?: Credentials
  dispatcher: Dispatcher
  logger: Logger
}

const MAX_REDIRECTS = 5
const MAX_ERROR_BODY = 64 * 1024

export class RegistryClient {
  readonly origin: string
  readonly registry: string
  private authorization: string | undefined
  private pinged: Promise<void> | undefined

  constructor(private readonly options: RegistryClientOptions) {
    // Normalised (`https://host:443` becomes `https://host`) so it compares with URL.origin.
    this.origin = new URL(options.origin).origin
    this.registry = options.registry
  }

  /**
   * Sends a request and returns the response when its status is in `accept`; the caller must read
   * or discard the body. Any other status throws, with the registry's error codes.
   */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    await this.ping()
    let res = await this.send(req)
    if (res.status === 401 && req.accept.indexOf(401) < 0 && this.canRetry(req) && this.answerChallenge(res)) {
      await discard(res.body)
      res = await this.send(req)
    }
    if (req.accept.includes(res.status)) return res
    throw await this.failure(req, res)
  }

  /** `GET /v2/` once per client: learns the auth scheme and fails early when nothing is there. */
  private ping(): Promise<void> {
    this.pinged ??= (async () => {
      const req: RegistryRequest = { method: 'GET', url: '/v2/', operation: 'ping registry', reference: this.registry, accept: [200, 401] }
      const res = await this.send(req)
      await discard(res.body)
      if (res.status === 401) this.answerChallenge(res)
      else if (res.status !== 200) throw await this.failure(req, res)
    })()
    return this.pinged
  }

  private canRetry(req: RegistryRequest): boolean {
    return req.body === undefined || Buffer.isBuffer(req.body)
  }

  /** Prepares the Authorization header for a 401's challenge; false when we cannot answer it. */
  private answerChallenge(res: RegistryResponse): boolean {
    const challenges = parseChallenges(headerValue(res.headers, 'www-authenticate'))
    const credentials = this.options.credentials
    if (!credentials || this.authorization) return false
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
      return true
    }
    return false
  }

  private async send(req: RegistryRequest): Promise<RegistryResponse> {
    let url = new URL(req.url, this.origin)
    for (let hop = 0; ; hop++) {
      const res = await this.sendOnce(req, url)
      const location = headerValue(res.headers, 'location')
      if (!req.followRedirects || !isRedirect(res.status) || !location) return res
      await discard(res.body)
      if (hop >= MAX_REDIRECTS) {
        throw new ConnectionError(req.operation, req.reference, `more than ${MAX_REDIRECTS} redirects`)
      }
      url = new URL(location, url)
    }
  }

  private async sendOnce(req: RegistryRequest, url: URL): Promise<RegistryResponse> {
    const sameOrigin = url.origin === this.origin
    const headers: Record<string, string> = { 'user-agent': 'oci-push', ...req.headers }
    // The Authorization header is for the registry alone: never for a storage host it redirects to.
    if (sameOrigin && this.authorization) headers.authorization = this.authorization
    const shown = sameOrigin ? `${url.pathname}${url.search}` : `${url.origin}${url.pathname}`
    try {
      const res = await this.options.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: req.method,
        headers,
        body: req.body
      })
      this.options.logger.debug(`${req.method} ${shown} -> ${res.statusCode}`)
      return { status: res.statusCode, headers: res.headers, body: res.body, url: url.href }
    } catch (error) {
      this.options.logger.debug(`${req.method} ${shown} -> ${describeCause(error)}`)
      if (error instanceof RegistryError || error instanceof ConnectionError || isOwnError(error)) throw error
      throw new ConnectionError(req.operation, `${req.reference} (${url.origin})`, describeCause(error), connectionHint(url))
    }
  }

  private async failure(req: RegistryRequest, res: RegistryResponse): Promise<RegistryError> {
    const details = await readErrorDetails(res.body)
    return new RegistryError(req.operation, req.reference, res.status, details, this.hint(res, details))
  }

  private hint(res: RegistryResponse, details: RegistryErrorDetail[]): string | undefined {
    const status = res.status
    if (status === 401) {
      const schemes = parseChallenges(headerValue(res.headers, 'www-authenticate')).map((c) => c.scheme)
      if (schemes.includes('bearer') && !schemes.includes('basic')) {
        return `${this.registry} asks for token authentication, which this version of oci-push does not support yet`
      }
      return this.options.credentials
        ? `the registry refused the credentials given for ${this.registry}`
        : `${this.registry} needs credentials: set username and password (srcUsername and srcPassword for the source)`
    }
    if (status === 403) return `the credentials for ${this.registry} lack permission for this repository`
    if (status === 404 && details.some((d) => d.code === 'NAME_UNKNOWN')) return 'check the repository name'
    if (status === 404 && details.some((d) => d.code === 'MANIFEST_UNKNOWN')) return 'check that the tag or digest exists'
    return undefined
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308
}

/** Errors our own streams raise (a digest check in a request body) pass through unchanged. */
function isOwnError(error: unknown): boolean {
  return error instanceof DigestMismatchError || error instanceof ContentError
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as { cause?: unknown }).cause
  const code = (error as { code?: string }).code ?? (cause as { code?: string } | undefined)?.code
  const message = cause instanceof Error && cause.message ? cause.message : error.message
  return code && !message.includes(code) ? `${code} ${message}` : message
}

function connectionHint(url: URL): string | undefined {
  if (url.protocol === 'https:') return 'if this registry speaks plain HTTP, set plainHttp: true'
  return undefined
}

export function headerValue(headers: RegistryResponse['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

/** Reads a response body up to `limit` bytes; more than that is an error, not a truncation. */
export async function readCapped(body: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of body) {
    total += (chunk as Buffer).length
    if (total > limit) {
      body.destroy()
      throw new Error(`${what} is larger than ${limit} bytes`)
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** Drops a body we do not need, so its connection goes back to the pool. */
export async function discard(body: Dispatcher.ResponseData['body']): Promise<void> {
  try {
    await body.dump({ limit: MAX_ERROR_BODY })
  } catch {
    // The connection is closed instead; nothing else to do.
  }
}

async function readErrorDetails(body: Dispatcher.ResponseData['body']): Promise<RegistryErrorDetail[]> {
  let text: string
  try {
    text = (await readCapped(body, MAX_ERROR_BODY, 'error body')).toString('utf8')
  } catch {
    return []
  }
  try {
    const json = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> }
    return (json.errors ?? [])
      .filter((e) => typeof e.code === 'string')
      .map((e) => ({ code: e.code as string, message: typeof e.message === 'string' ? e.message : '' }))
  } catch {
    return []
  }
}
