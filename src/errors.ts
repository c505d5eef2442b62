/**
 * Error classes carry what happened as data (input name, operation, HTTP status, registry error
 * codes), so callers decide by type and fields, never by message text. Every message is one line
 * a user can act on. Whether a failure is worth another try is a property of the error
 * ({@link isTransient}), decided by the protocol rules in retry.ts, not by whoever sent the request.
 */
import { isTransientCode, isTransientStatus } from './retry.js'

/** An action input (or the environment variable standing in for one) has a value we cannot use. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    readonly problem: string
  ) {
    super(`${input}: ${problem}`)
    this.name = 'InputError'
  }
}

/** A registry reference that does not follow the reference grammar. */
export class InvalidReferenceError extends Error {
  constructor(
    readonly text: string,
    readonly problem: string
  ) {
    super(`"${text}" is not a valid reference: ${problem}`)
    this.name = 'InvalidReferenceError'
  }
}

/** One entry of the `errors` array that the distribution spec's error responses carry. */
export interface RegistryErrorDetail {
  code: string
  message: string
}

/** A registry answered a request with a status the operation does not accept. */
export class RegistryError extends Error {
  constructor(
    readonly operation: string,
    readonly reference: string,
    readonly status: number,
    readonly details: RegistryErrorDetail[],
    readonly hint?: string,
    /** How long the registry asked us to wait (`Retry-After`), in milliseconds. */
    readonly retryAfterMs?: number,
    /** A rate limit spent (a pull limit, a wait longer than any retry): not worth another try now. */
    readonly limitSpent = false
  ) {
    const codes = details.map((d) => (d.message ? `${d.code}: ${d.message}` : d.code)).join('; ')
    const what = codes ? `${status} ${codes}` : `HTTP ${status}`
    super(`${operation} ${reference}: ${what}${hint ? ` (${hint})` : ''}`)
    this.name = 'RegistryError'
  }

  /** 408, 429 and the 5xx a gateway gives when the registry behind it is busy or restarting. */
  get transient(): boolean {
    return isTransientStatus(this.status) && !this.limitSpent
  }
}

/** The registry could not be reached at all (DNS, refused connection, TLS, reset). */
export class ConnectionError extends Error {
  constructor(
    readonly operation: string,
    readonly url: string,
    readonly causeMessage: string,
    hint?: string,
    /** The socket's error code (`ECONNRESET`, `UND_ERR_SOCKET`), which says whether to retry. */
    readonly code?: string
  ) {
    super(`${operation} ${url}: ${causeMessage}${hint ? ` (${hint})` : ''}`)
    this.name = 'ConnectionError'
  }

  /** A reset, a refusal, a timeout: worth another try; a TLS or DNS failure is not. */
  get transient(): boolean {
    return isTransientCode(this.code)
  }
}

/**
 * Reading from the source failed while its bytes were streamed to a destination: the source's
 * fault, named as such, not the destination's (a download cut short, a reset).
 */
export class SourceError extends Error {
  constructor(
    readonly reference: string,
    readonly causeMessage: string
  ) {
    super(`read blob ${reference}: ${causeMessage}`)
    this.name = 'SourceError'
  }

  /** A download cut short is read again from the start. */
  get transient(): boolean {
    return true
  }
}

/** Content read from anywhere is not what it claims to be (bad JSON, wrong digest, wrong size). */
export class ContentError extends Error {
  constructor(
    readonly reference: string,
    readonly problem: string
  ) {
    super(`${reference}: ${problem}`)
    this.name = 'ContentError'
  }
}

/** The copy would move more bytes across repositories than `maxArtifactSize` allows. */
export class SizeLimitError extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
    message: string
  ) {
    super(message)
    this.name = 'SizeLimitError'
  }
}

/** Credentials could not be read: a Docker or Helm config that is not JSON, a credential helper that failed. */
export class CredentialError extends Error {
  constructor(
    readonly registry: string,
    readonly problem: string
  ) {
    super(`credentials for ${registry}: ${problem}`)
    this.name = 'CredentialError'
  }
}

/** Worth another try: a transient status, a socket fault, a source read cut short. */
export function isTransient(error: unknown): boolean {
  return (error instanceof RegistryError || error instanceof ConnectionError || error instanceof SourceError) && error.transient
}

/** Failures of requests that were already retried as the policy allows. */
const retried = new WeakSet<object>()

/** Marks `error` as the end of a request already retried (or found not worth retrying). */
export function markRetried(error: unknown): void {
  if (typeof error === 'object' && error !== null) retried.add(error)
}

/**
 * Whether `error` ended a request that was already retried: a caller that restarts whole
 * operations must not try it again, or the tries multiply.
 */
export function wasRetried(error: unknown): boolean {
  return typeof error === 'object' && error !== null && retried.has(error)
}
