/**
 * The retry rule alone, with an injected clock: how many tries an operation gets, and that the
 * time budget counts the waiting (and a request's time to its answer), never a blob's streaming.
 */
import { describe, expect, test } from '@jest/globals'
import { nextDelay, withRetries, type RetryClock, type RetryPolicy, type RetryRule } from '../src/retry.js'

const policy: RetryPolicy = { attempts: 5, baseDelayMs: 40, maxDelayMs: 40, totalMs: 100, retryAfterCapMs: 60 }

/** A clock that only moves when told to: a sleep moves it by the wait, a try by what it "took". */
function fakeClock(): RetryClock & { slept: number[]; advance(ms: number): void } {
  let now = 0
  const slept: number[] = []
  return {
    slept,
    now: () => now,
    advance: (ms) => {
      now += ms
    },
    sleep: (ms) => {
      slept.push(ms)
      now += ms
      return Promise.resolve()
    },
    random: () => 1
  }
}

/** A rule that retries every failure and records the `n of N` of each retry. */
function ruleFor(countTries: boolean, announced: number[] = []): RetryRule {
  return { policy, retryable: () => true, onRetry: (_error, _delay, next) => announced.push(next), countTries }
}

/** Runs an operation whose tries each take `tryMs` and fail the first `failures` times; counts the tries. */
async function run(rule: RetryRule, clock: ReturnType<typeof fakeClock>, tryMs: number, failures: number) {
  let tries = 0
  const outcome = await withRetries(
    () => {
      tries++
      clock.advance(tryMs)
      return tries <= failures ? Promise.reject(new Error(`try ${tries} failed`)) : Promise.resolve('done')
    },
    rule,
    clock
  ).catch((error: unknown) => error as Error)
  return { tries, outcome }
}

describe('nextDelay', () => {
  test.each([
    ['the backoff, when the budget has room', 1, 0, undefined, 40],
    ['none after the last try', 5, 0, undefined, undefined],
    ['none when the wait would overrun the budget', 2, 61, undefined, undefined],
    ['the wait that just fits', 2, 60, undefined, 40],
    ["the registry's Retry-After, capped", 1, 0, 5000, 60],
    ['a Retry-After of 0 at once', 1, 0, 0, 0]
  ])('%s', (_name, attempt, spent, retryAfter, expected) => {
    expect(nextDelay(attempt, spent, policy, retryAfter, () => 1)).toBe(expected)
  })
})

describe('withRetries', () => {
  test('a try that streamed for longer than the whole budget is still tried again', async () => {
    const clock = fakeClock()
    const { tries, outcome } = await run(ruleFor(false), clock, 10 * policy.totalMs, 1)
    expect(outcome).toBe('done')
    expect(tries).toBe(2)
  })

  test("a request's time to its answer counts against the budget when the rule says so", async () => {
    const clock = fakeClock()
    const { tries, outcome } = await run(ruleFor(true), clock, 10 * policy.totalMs, 1)
    expect(outcome).toEqual(new Error('try 1 failed'))
    expect(tries).toBe(1)
  })

  test('the waits are what is counted: no wait starts that would overrun the budget', async () => {
    const clock = fakeClock()
    const { tries, outcome } = await run(ruleFor(false), clock, 0, Infinity)
    expect(outcome).toEqual(new Error('try 3 failed'))
    // 40 + 40 ms waited; a third wait of 40 would make 120 > 100.
    expect(clock.slept).toEqual([40, 40])
    expect(tries).toBe(3)
  })

  test('a persistent fault gets exactly `attempts` tries, each retry announced once as "n of N"', async () => {
    const clock = fakeClock()
    const announced: number[] = []
    const roomy = { ...ruleFor(false, announced), policy: { ...policy, totalMs: 10_000 } }
    const { tries } = await run(roomy, clock, 0, Infinity)
    expect(tries).toBe(policy.attempts)
    expect(announced).toEqual([2, 3, 4, 5])
  })

  test('a failure the rule finds not worth it is final at once', async () => {
    const clock = fakeClock()
    const { tries, outcome } = await run({ ...ruleFor(false), retryable: () => false }, clock, 0, Infinity)
    expect(outcome).toEqual(new Error('try 1 failed'))
    expect(tries).toBe(1)
    expect(clock.slept).toEqual([])
  })

  test('an aborted operation is not tried again', async () => {
    const clock = fakeClock()
    const controller = new AbortController()
    controller.abort(new Error('stopped'))
    const { tries } = await run({ ...ruleFor(false), signal: controller.signal }, clock, 0, Infinity)
    expect(tries).toBe(1)
  })
})
