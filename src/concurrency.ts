/**
 * Blobs in flight at once unless told otherwise; the connection pool per registry is sized from
 * the same number. Over a distant link each small blob costs round trips (HEAD, POST, PUT) more
 * than bytes, so several at once matter; for one large blob they make no difference
 * (docs/performance.md).
 */
export const DEFAULT_CONCURRENCY = 8

/**
 * Blobs under this size cost round trips more than bytes: they move four times the concurrency
 * at once (at most {@link SMALL_BLOB_CONCURRENCY}) beside the large ones, so a level of small
 * blobs takes one wave, not several.
 */
export const SMALL_BLOB_BYTES = 4 * 1024 * 1024
export const SMALL_BLOB_CONCURRENCY = 32

/**
 * Runs `task` for every item with at most `limit` running at once. The first failure stops new
 * tasks from starting and calls `onFailure` at once (to abort the ones running); those are then
 * awaited — aborted, they end promptly — and the first failure is thrown, not an error of the
 * aborting.
 */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
  onFailure: (error: unknown) => void = () => {}
): Promise<void> {
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++]
      try {
        await task(item)
      } catch (error) {
        if (!failure) {
          failure = { error }
          onFailure(error)
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  if (failure) throw failure.error
}

/** Small blobs in flight at once beside `concurrency` large ones: four times as many, at most {@link SMALL_BLOB_CONCURRENCY}. */
export function smallBlobsAtOnce(concurrency: number): number {
  return concurrency <= 1 ? 1 : Math.min(SMALL_BLOB_CONCURRENCY, 4 * concurrency)
}

/** At most `limit` tasks running at once, for tasks that arrive one by one (not a list known ahead). */
export class Slots {
  private running = 0
  private readonly waiting: Array<() => void> = []

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.running++
    try {
      return await task()
    } finally {
      // The slot passes to the next waiting task, or is freed.
      const next = this.waiting.shift()
      if (next) next()
      else this.running--
    }
  }
}

/**
 * Turns taken in ticket order (0, 1, 2, …) by tasks that get there out of order: {@link turn}
 * resolves once every earlier ticket is {@link done}. A ticket that needs no turn is marked done
 * as soon as that is known, so later ones do not wait for it.
 */
export class InTurn {
  private next = 0
  private readonly finished = new Set<number>()
  private readonly waiting = new Map<number, () => void>()

  async turn(ticket: number): Promise<void> {
    if (ticket > this.next) await new Promise<void>((resolve) => this.waiting.set(ticket, resolve))
  }

  /** The ticket's turn is over (or it needs none); marking it again changes nothing. */
  done(ticket: number): void {
    if (ticket < this.next) return
    this.finished.add(ticket)
    while (this.finished.delete(this.next)) this.next++
    const wake = this.waiting.get(this.next)
    this.waiting.delete(this.next)
    wake?.()
  }
}
