/**
 * Error classes carry what happened as data (input name, operation, HTTP status, registry error
 * codes), so callers decide by type and fields, never by message text. Every message is one line
 * a user can act on. Whether a failure is worth another try is a property of the error
 * ({@link isTransient}), decided by the protocol rules in retry.ts, not by whoever sent the request.
 */
import { isTransientCode, isTransientStatus } from './retry.js'
import { plain, shown } from './escape.js'
import { item as itemOf, keepWords, param, spoken } from './words.js'

/**
 * Sets an error's message from `text`, whose parameters are tokens (words.ts): the message in the
 * action's words, the tokens kept for a front end with other words.
 */
function told(error: Error, text: string): void {
  error.message = spoken(text)
  keepWords(error, text)
}

/**
 * Messages embed values read from outside (an entry name from an archive, a path, a system's
 * message): each is one line whatever they hold, control characters escaped, bounded.
 */
function oneLine(message: string): string {
  return plain(message, 4000)
}

/** An action input (or the environment variable standing in for one) has a value we cannot use. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    readonly problem: string,
    /** Which item of a list input (a line of `annotations`), 1-based, when the problem is one item's. */
    readonly item?: number
  ) {
    // The parameter is data: each front end names it its own way (words.ts).
    super()
    told(this, oneLine(`${item === undefined ? param(input) : itemOf(input, item)}: ${problem}`))
    this.name = 'InputError'
  }
}

/** A registry reference that does not follow the reference grammar. */
export class InvalidReferenceError extends Error {
  constructor(
    readonly text: string,
    readonly problem: string
  ) {
    super(`${shown(text)} is not a valid reference: ${problem}`)
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
    const shownDetails = details.slice(0, MAX_SHOWN_DETAILS).map(showDetail)
    if (details.length > MAX_SHOWN_DETAILS) shownDetails.push(`and ${details.length - MAX_SHOWN_DETAILS} more errors`)
    const codes = shownDetails.join('; ')
    const what = codes ? `${status} ${codes}` : `HTTP ${status}`
    super()
    told(this, `${operation} ${reference}: ${what}${hint ? ` (${hint})` : ''}`)
    this.name = 'RegistryError'
  }

  /** 408, 429 and the 5xx a gateway gives when the registry behind it is busy or restarting. */
  get transient(): boolean {
    return isTransientStatus(this.status) && !this.limitSpent
  }
}

/** Error codes as the spec writes them (`MANIFEST_UNKNOWN`); anything else is shown escaped. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/
/** A registry's message is its own text: at most this much of it reaches a log. */
const MAX_REGISTRY_MESSAGE = 300
/** Entries of one error body shown at most. */
const MAX_SHOWN_DETAILS = 5

/** One entry of a registry's error body, as a message shows it: untrusted text escaped and cut. */
function showDetail(detail: RegistryErrorDetail): string {
  const code = ERROR_CODE.test(detail.code) ? detail.code : shown(detail.code, 64)
  return detail.message ? `${code}: ${plain(detail.message, MAX_REGISTRY_MESSAGE)}` : code
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
    super()
    told(this, oneLine(`${operation} ${url}: ${causeMessage}${hint ? ` (${hint})` : ''}`))
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
    super()
    told(this, oneLine(`read blob ${reference}: ${causeMessage}`))
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
    super()
    told(this, oneLine(`${reference}: ${problem}`))
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
    super()
    told(this, message)
    this.name = 'SizeLimitError'
  }
}

/** Credentials could not be read: a Docker or Helm config that is not JSON, a credential helper that failed. */
export class CredentialError extends Error {
  constructor(
    readonly registry: string,
    readonly problem: string
  ) {
    super()
    told(this, oneLine(`credentials for ${registry}: ${problem}`))
    this.name = 'CredentialError'
  }
}

/**
 * A file or directory of a layout, an archive or the spool could not be made, read or written:
 * the system's error (`EACCES`, `ENOTDIR`, `ENOSPC`…) about a path, never worth another try.
 */
export class FileSystemError extends Error {
  constructor(
    /** What could not be done, in plain words: `create the layout directory`, `read the archive`. */
    readonly operation: string,
    /** What it was done to: the layout directory, the archive, a file of the layout. */
    readonly path: string,
    /** The system's code: `ENOENT`, `EACCES`, `ENOTDIR`, `EISDIR`, `ENOSPC`… */
    readonly code: string | undefined,
    /** The system's reason in words: `permission denied`, `not a directory`. */
    readonly reason: string,
    /** The path the system refused, when it is another than `path` (a parent of it, a file in it). */
    readonly at?: string,
    /** What to do about it, when there is something to say. */
    readonly hint?: string
  ) {
    const where = at !== undefined && at !== path ? `${at}: ` : ''
    super()
    told(this, oneLine(`cannot ${operation} ${path}: ${where}${reason}${code ? ` (${code})` : ''}${hint ? `; ${hint}` : ''}`))
    this.name = 'FileSystemError'
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
