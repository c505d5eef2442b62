/**
 * The one place where HTTP happens. A {@link RegistryClient} talks to one registry origin with one
 * set of credentials: it pings `/v2/` once (an anonymous client's first request may stand in for
 * the ping), answers `401` challenges (Basic, or Bearer tokens per scope set through
 * {@link Authenticator}), follows redirects without leaking the Authorization header to other
 * hosts, turns refusals into {@link RegistryError}s with a hint, and logs every request at debug
 * level without secrets. Each request is retried here and nowhere else (a
 * streamed upload, which cannot be sent again, is restarted by its caller instead).
 */
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import {
  ConnectionError,
  ContentError,
  FileSystemError,
  isTransient,
  markRetried,
  RegistryError,
  type RegistryErrorDetail,
  SourceError
} from '../errors.js'
import { DigestMismatchError } from '../digest.js'
import type { Credentials, Role } from '../auth/credentials.js'
import type { Logger } from '../log.js'
import { Authenticator } from './auth.js'
import { parseChallenges } from './challenge.js'
import { readCapped } from '../streams.js'
import { connectionHint, registryHint, type HintContext } from './hints.js'
import { DEFAULT_RETRY, nextTryText, parseRetryAfter, withRetries, type RetryPolicy } from '../retry.js'
import { parseTokenResponse, type Token, type TokenRequest } from './token.js'
import { OriginAuthState, OriginPings, type PingAnswer } from './origin-state.js'
import { tokenMessage } from '../words.js'

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
  /** Token scopes the request needs (`repository:app:pull`); what a Bearer token is asked for. */
  scopes?: readonly string[]
  /** Aborts the request (and any wait before a retry): the copy failed elsewhere. */
  signal?: AbortSignal
}

export interface RegistryResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Dispatcher.ResponseData['body']
  /** The URL that answered, after redirects: relative Locations resolve against it. */
  url: string
  /** The Authorization the request went with (kept here only to tell which token was refused). */
  sentAuthorization?: string
}

export interface RegistryClientOptions {
  /** `https://ghcr.io`, `http://127.0.0.1:5000`. */
  origin: string
  /** The registry as users name it, for messages and hints. */
  registry: string
  /** Which side of the copy this client serves, so hints name the right inputs. */
  role: Role
  credentials?: Credentials
  dispatcher: Dispatcher
  logger: Logger
  retry?: RetryPolicy
  /** The run's `/v2/` pings, shared by its clients: each origin is pinged once. */
  pings?: OriginPings
}

const MAX_REDIRECTS = 5
/**
 * A registry answers a blob PUT only once it has stored (and hashed) every byte: for a large
 * blob that can take minutes after the last byte is sent. Idle bodies are cut by the pool's
 * `bodyTimeout` instead, so a stalled transfer still ends.
 */
const UPLOAD_HEADERS_TIMEOUT_MS = 15 * 60_000
const MAX_ERROR_BODY = 64 * 1024
const MAX_TOKEN_BODY = 1024 * 1024

export class RegistryClient {
  readonly origin: string
  readonly registry: string
  private readonly auth: Authenticator
  /** What the client knows of the origin's auth: whether it must ping before a request. */
  private readonly authState: OriginAuthState

  constructor(private readonly options: RegistryClientOptions) {
    // Normalised (`https://host:443` becomes `https://host`) so it compares with URL.origin.
    this.origin = new URL(options.origin).origin
    this.registry = options.registry
    this.auth = new Authenticator(this.origin, options.credentials, (request) => this.fetchToken(request))
    this.authState = new OriginAuthState({
      origin: this.origin,
      pings: options.pings ?? new OriginPings(),
      ping: () => this.ping(),
      learn: (challenges) => {
        if (challenges) this.auth.challenged(challenges, [])
      }
    })
  }

  /**
   * Sends a request and returns the response when its status is in `accept`; the caller must read
   * or discard the body. Any other status throws, with the registry's error codes. Transient
   * faults are retried here, the one place a request is retried.
   */
  request(req: RegistryRequest): Promise<RegistryResponse> {
    return this.requestAndRead(req, (res) => Promise.resolve(res))
  }

  /**
   * As {@link request}, with the response's body read by `read` inside each try: a body that
   * breaks on the way (a manifest cut short) is asked for again.
   */
  requestAndRead<T>(req: RegistryRequest, read: (res: RegistryResponse) => Promise<T>): Promise<T> {
    return this.retrying(req, async () => read(await this.exchange(req)))
  }

  /** One try: the ping (until one succeeds) or a first request in its place, the request, and a second send after a fresh challenge. */
  private async exchange(req: RegistryRequest): Promise<RegistryResponse> {
    const standIn = this.mayStandInForPing(req) ? () => this.standIn(req) : undefined
    const res = await this.authState.send(() => this.answered(req), standIn)
    if (req.accept.includes(res.status)) return res
    throw await this.failure(req, res)
  }

  /**
   * An anonymous client's first request, when it can be sent twice, may go without a ping
   * ({@link OriginAuthState.send}): its own answer teaches what the ping's would (a 401's
   * challenges are answered as any request's are), and a registry that lets anyone in costs one
   * round trip less. With credentials the ping comes first, so they go with the first request:
   * some registries answer 404, not 401, without them.
   */
  private mayStandInForPing(req: RegistryRequest): boolean {
    return this.options.credentials === undefined && canResend(req) && req.url.startsWith('/v2/')
  }

  /**
   * The first request in the ping's place. An answer other than success or 401 (a 404, say) may
   * be a registry that hides from a request without a token what it shows to an anonymous one,
   * or no registry at all: then the ping is asked after all; it fails as it would have first, or
   * teaches a challenge, met by sending the request again.
   */
  private async standIn(req: RegistryRequest): Promise<RegistryResponse> {
    const res = await this.answered(req)
    if (res.status < 400 || res.status === 401 || res.status === 429 || res.status >= 500) return res
    const challenges = await this.authState.pingAnswer()
    if (!challenges || !this.auth.challenged(challenges, req.scopes ?? [])) return res
    await discard(res.body)
    return this.answered(req)
  }

  /** The request's answer, sent a second time when a 401 brought a challenge it can now meet. */
  private async answered(req: RegistryRequest): Promise<RegistryResponse> {
    let res = await this.send(req)
    if (res.status === 401 && !req.accept.includes(401)) {
      // Learned even when this body cannot be sent again: the caller's restart gets the new token.
      const fresh = this.auth.challenged(challengesOf(res), req.scopes ?? [], res.sentAuthorization)
      if (fresh && canResend(req)) {
        await discard(res.body)
        res = await this.send(req)
      }
    }
    return res
  }

  /**
   * Runs `attempt` again after transient faults, as the retry policy allows, when the request can
   * be sent again. A stream body cannot: its caller starts over from the source instead, and only
   * then; what failed here after its tries is marked so no caller tries it again ({@link wasRetried}).
   */
  private async retrying<T>(req: RegistryRequest, attempt: () => Promise<T>): Promise<T> {
    const policy = this.options.retry ?? DEFAULT_RETRY
    const resendable = canResend(req)
    try {
      return await withRetries(attempt, {
        policy,
        retryable: (error) => resendable && isTransient(error),
        retryAfterMs: retryAfterOf,
        onRetry: (error, delay, next) =>
          this.options.logger.info(`${tokenMessage(error)}; trying again ${nextTryText(delay, next, policy)}`),
        countTries: true,
        ...(req.signal ? { signal: req.signal } : {})
      })
    } catch (error) {
      if (resendable) markRetried(error)
      throw error
    }
  }

  /**
   * `GET /v2/` before the first request (of a client with credentials, or one whose body cannot
   * be sent twice: see {@link mayStandInForPing}): learns the auth scheme and fails early when
   * nothing is there. Part of the try of the request that needs it, never retried on its own
   * ({@link OriginAuthState} says when it is asked).
   */
  private async ping(): Promise<PingAnswer> {
    const req: RegistryRequest = { method: 'GET', url: '/v2/', operation: 'ping registry', reference: this.registry, accept: [200, 401] }
    const res = await this.send(req)
    await discard(res.body)
    if (res.status === 401) return challengesOf(res)
    if (res.status !== 200) throw await this.failure(req, res)
    return undefined
  }

  /** Pings the registry now (before the first request needs it), so that round trip overlaps other work. */
  warm(): Promise<void> {
    return this.authState.ready()
  }

  private async send(req: RegistryRequest): Promise<RegistryResponse> {
    const authorization = await this.auth.header(req.scopes ?? [])
    let url = new URL(req.url, this.origin)
    for (let hop = 0; ; hop++) {
      const res = await this.sendOnce(req, url, authorization)
      if (authorization) res.sentAuthorization = authorization
      const location = headerValue(res.headers, 'location')
      if (!req.followRedirects || !isRedirect(res.status) || !location) return res
      await discard(res.body)
      if (hop >= MAX_REDIRECTS) {
        throw new ConnectionError(req.operation, req.reference, `more than ${MAX_REDIRECTS} redirects`)
      }
      url = new URL(location, url)
    }
  }

  private async sendOnce(req: RegistryRequest, url: URL, authorization: string | undefined): Promise<RegistryResponse> {
    const sameOrigin = url.origin === this.origin
    const headers: Record<string, string> = { 'user-agent': 'oci-push', ...req.headers }
    // The Authorization header is for the registry alone: never for a storage host it redirects to.
    if (sameOrigin && authorization) headers.authorization = authorization
    // Another host's query may carry a signature (presigned storage URLs): only its path is logged.
    const shown = sameOrigin ? `${url.pathname}${url.search}` : `${url.origin}${url.pathname}`
    try {
      const streamed = req.body !== undefined && !Buffer.isBuffer(req.body)
      const res = await this.options.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: req.method,
        headers,
        body: req.body,
        ...(req.signal ? { signal: req.signal } : {}),
        ...(streamed ? { headersTimeout: UPLOAD_HEADERS_TIMEOUT_MS } : {})
      })
      this.options.logger.debug(`${req.method} ${shown} -> ${res.statusCode}`)
      return { status: res.statusCode, headers: res.headers, body: res.body, url: url.href }
    } catch (error) {
      throw this.connectionFailure(error, req.operation, req.reference, url, `${req.method} ${shown}`)
    }
  }

  /** Asks the token realm for a token; its query and form carry no secret, but are not logged either. */
  private async fetchToken(request: TokenRequest): Promise<Token> {
    const shown = `${request.method} ${request.url.origin}${request.url.pathname}`
    let res: Dispatcher.ResponseData
    try {
      res = await this.options.dispatcher.request({
        origin: request.url.origin,
        path: `${request.url.pathname}${request.url.search}`,
        method: request.method,
        headers: { 'user-agent': 'oci-push', accept: 'application/json', ...request.headers },
        ...(request.body !== undefined ? { body: request.body } : {})
      })
    } catch (error) {
      throw this.connectionFailure(error, 'get token', this.registry, request.url, shown)
    }
    this.options.logger.debug(`${shown} (token${request.withCredentials ? ', with credentials' : ''}) -> ${res.statusCode}`)
    if (!request.withCredentials && this.options.credentials) {
      this.options.logger.warning(
        `${this.registry}: the token realm ${request.url.origin} is plain HTTP on another host; credentials were not sent to it`
      )
    }
    if (res.statusCode !== 200) {
      const details = await readErrorDetails(res.body)
      throw new RegistryError('get token', this.registry, res.statusCode, details, this.hint(res.statusCode, details, {}))
    }
    let token: Token | undefined
    try {
      token = parseTokenResponse(JSON.parse((await readCapped(res.body, MAX_TOKEN_BODY, 'token response')).toString('utf8')), Date.now())
    } catch {
      token = undefined
    }
    if (!token) throw new ContentError(`token for ${this.registry}`, `${request.url.origin}${request.url.pathname} did not answer a token`)
    this.options.logger.secret(token.value)
    return token
  }

  private connectionFailure(error: unknown, operation: string, reference: string, url: URL, shown: string): Error {
    this.options.logger.debug(`${shown} -> ${describeCause(error)}`)
    if (error instanceof RegistryError || error instanceof ConnectionError || isOwnError(error)) return error as Error
    const { code, message } = causeOf(error)
    return new ConnectionError(operation, `${reference} (${url.origin})`, describeCause(error), connectionHint(code, message, url), code)
  }

  private async failure(req: RegistryRequest, res: RegistryResponse): Promise<RegistryError> {
    const details = await readErrorDetails(res.body)
    const bearer = challengesOf(res).find((c) => c.scheme === 'bearer')
    const retryAfterMs = parseRetryAfter(headerValue(res.headers, 'retry-after'), Date.now())
    // A pull limit spent (Docker Hub: `RateLimit-Remaining: 0`) or a wait longer than any retry
    // would make is not worth retrying: it is reported at once, with when it resets.
    const remaining = headerValue(res.headers, 'ratelimit-remaining')
    const budget = (this.options.retry ?? DEFAULT_RETRY).totalMs
    const exhausted = res.status === 429 && ((remaining !== undefined && /^\s*0\b/.test(remaining)) || (retryAfterMs ?? 0) > budget)
    const hint = this.hint(res.status, details, {
      ...(bearer?.params.error ? { challengeError: bearer.params.error } : {}),
      ...(exhausted ? { limitSpent: true } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {})
    })
    return new RegistryError(req.operation, req.reference, res.status, details, hint, retryAfterMs, exhausted)
  }

  private hint(status: number, details: RegistryErrorDetail[], more: Partial<HintContext>): string | undefined {
    const credentials = this.options.credentials
    return registryHint(status, details, {
      registry: this.registry,
      role: this.options.role,
      ...(credentials ? { credentials: credentials.origin ?? 'the inputs' } : {}),
      ...more
    })
  }
}

/** A Buffer (or no body) can be sent again after a challenge; a stream only once. */
function canResend(req: Pick<RegistryRequest, 'body'>): boolean {
  return req.body === undefined || Buffer.isBuffer(req.body)
}

function challengesOf(res: RegistryResponse): ReturnType<typeof parseChallenges> {
  return parseChallenges(headerValue(res.headers, 'www-authenticate'))
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308
}

/** Errors our own streams raise (a digest check, a source read, in a request body) pass through unchanged. */
function isOwnError(error: unknown): boolean {
  return (
    error instanceof DigestMismatchError ||
    error instanceof ContentError ||
    error instanceof SourceError ||
    error instanceof FileSystemError
  )
}

function retryAfterOf(error: unknown): number | undefined {
  return error instanceof RegistryError ? error.retryAfterMs : undefined
}

function causeOf(error: unknown): { code?: string; message: string } {
  // Duck-typed, not `instanceof Error`: socket and TLS errors may come from another realm.
  if (typeof error !== 'object' || error === null || typeof (error as Error).message !== 'string') return { message: String(error) }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  const code = (error as { code?: string }).code ?? cause?.code
  const message = typeof cause?.message === 'string' && cause.message ? cause.message : (error as Error).message
  return { ...(code ? { code } : {}), message }
}

function describeCause(error: unknown): string {
  const { code, message } = causeOf(error)
  return code && !message.includes(code) ? `${code} ${message}` : message
}

export function headerValue(headers: RegistryResponse['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(', ') : value
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
