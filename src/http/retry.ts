/**
 * When and how long to wait before sending again (DESIGN §7): transient faults — a reset or
 * refused connection, a timeout, a body cut short, 408, 429 and 5xx gateway answers — are retried
 * with exponential backoff and full jitter, honouring `Retry-After`, within a bound on attempts
 * and on total time. Every other failure is final at once.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number
  /** The first backoff; each further one doubles, up to `maxDelayMs`. */
  baseDelayMs: number
  maxDelayMs: number
  /** No retry starts once this much time has gone since the first try. */
  totalMs: number
  /** A registry's `Retry-After` is honoured up to this. */
  retryAfterCapMs: number
}

/** Five tries over at most ~75 s: a persistent fault ends the step well inside three minutes. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 15_000, totalMs: 75_000, retryAfterCapMs: 30_000 }

const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

/** Socket-level codes (Node and undici) that mean "try again", not "you asked for something wrong". */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'
])

export function isTransientStatus(status: number): boolean {
  return TRANSIENT_STATUSES.has(status)
}

export function isTransientCode(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT_CODES.has(code)
}

/** `Retry-After` as milliseconds from `now`: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Full jitter: a random wait up to base × 2^(attempt-1), capped (AWS's "Exponential Backoff and Jitter"). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(random() * ceiling)
}

/**
 * How long to wait before try `attempt + 1`, or undefined when no further try fits the policy.
 * `retryAfterMs` (from the registry) wins over the backoff, capped.
 */
export function nextDelay(attempt: number, started: number, now: number, policy: RetryPolicy, retryAfterMs?: number): number | undefined {
  if (attempt >= policy.attempts) return undefined
  const delay = retryAfterMs !== undefined ? Math.min(retryAfterMs, policy.retryAfterCapMs) : backoffDelay(attempt, policy)
  return now + delay - started > policy.totalMs ? undefined : delay
}

/** Waits `ms`, or less when `signal` aborts (then rejects with its reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error)
      return
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason as Error)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
