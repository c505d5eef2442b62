/**
 * When and how long to wait before sending again (DESIGN §7): transient faults — a reset or
 * refused connection, a timeout, a body cut short, 408, 429 and 5xx gateway answers — are retried
 * with exponential backoff and full jitter, honouring `Retry-After`, within a bound on attempts
 * and on time spent waiting. Every other failure is final at once. Each operation is retried by
 * one caller of {@link withRetries}, never by two nested ones: five tries mean five, not 5 × 5.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number
  /** The first backoff; each further one doubles, up to `maxDelayMs`. */
  baseDelayMs: number
  maxDelayMs: number
  /**
   * No retry starts once this much time has gone on waiting: the backoff sleeps, and the time a
   * request took to be answered. The time a blob takes to stream is not counted: an upload that
   * breaks after minutes is started again all the same, within `attempts`.
   */
  totalMs: number
  /** A registry's `Retry-After` is honoured up to this. */
  retryAfterCapMs: number
}

/** Five tries, at most ~75 s of waiting: a persistent fault ends the step well inside three minutes. */
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
 * How long to wait before try `attempt + 1`, or undefined when no further try fits the policy:
 * `spentMs` is the time counted against `totalMs` so far. `retryAfterMs` (from the registry) wins
 * over the backoff, capped.
 */
export function nextDelay(
  attempt: number,
  spentMs: number,
  policy: RetryPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random
): number | undefined {
  if (attempt >= policy.attempts) return undefined
  const delay = retryAfterMs !== undefined ? Math.min(retryAfterMs, policy.retryAfterCapMs) : backoffDelay(attempt, policy, random)
  return spentMs + delay > policy.totalMs ? undefined : delay
}

/** How one operation meets its failures. */
export interface RetryRule {
  policy: RetryPolicy
  /** Whether `error` is worth another try. */
  retryable(error: unknown): boolean
  /** The wait `error` asks for (a registry's `Retry-After`); undefined for the backoff. */
  retryAfterMs?(error: unknown): number | undefined
  /** Told before each wait: what failed, the wait, and which try comes next (of `policy.attempts`). */
  onRetry(error: unknown, delayMs: number, next: number): void
  /**
   * Whether a try's own duration counts against `totalMs`. A request's time to its answer does
   * (a registry that hangs is not waited on for ever); a try that streams a blob does not.
   */
  countTries: boolean
  /** Ends the waiting (and the retries): the operation was given up elsewhere. */
  signal?: AbortSignal
}

/** Time and chance, injected by tests. */
export interface RetryClock {
  now(): number
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  random(): number
}

const REAL_CLOCK: RetryClock = { now: () => Date.now(), sleep: (ms, signal) => sleep(ms, signal), random: () => Math.random() }

/** Runs `run`, and again after each failure the rule finds worth it, as long as the policy allows. */
export async function withRetries<T>(run: () => Promise<T>, rule: RetryRule, clock: RetryClock = REAL_CLOCK): Promise<T> {
  let spent = 0
  for (let attempt = 1; ; attempt++) {
    const started = clock.now()
    try {
      return await run()
    } catch (error) {
      if (rule.countTries) spent += clock.now() - started
      const retry = rule.retryable(error) && !rule.signal?.aborted
      const delay = retry ? nextDelay(attempt, spent, rule.policy, rule.retryAfterMs?.(error), () => clock.random()) : undefined
      if (delay === undefined) throw error
      rule.onRetry(error, delay, attempt + 1)
      await clock.sleep(delay, rule.signal)
      spent += delay
    }
  }
}

/** When the next try comes, as logged: `in 1.2 s (2 of 5)`. */
export function nextTryText(delayMs: number, next: number, policy: RetryPolicy): string {
  return `in ${(delayMs / 1000).toFixed(1)} s (${next} of ${policy.attempts})`
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
