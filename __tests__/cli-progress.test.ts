/** The CLI's progress on stderr, driven by events and a fake clock: bars on a terminal, lines elsewhere. */
import { describe, expect, test } from '@jest/globals'
import type { ProgressEvent } from '../src/engine/events.js'
import { ProgressMeter, progressInterval } from '../src/progress.js'
import { bar, barLine, barLines, BarView, erase, MAX_BARS, PlainView, trackTransfers, type Transfer } from '../src/cli/progress.js'

const D1 = `sha256:${'a1'.repeat(32)}`
const D2 = `sha256:${'b2'.repeat(32)}`
const MiB = 1024 * 1024

/** A clock the test moves by hand. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000
  return { now: () => t, advance: (ms) => (t += ms) }
}

const planned: ProgressEvent = { type: 'transfer-planned', target: 'reg/app', blobs: 2, bytes: 30 * MiB }
const started = (digest: string, size: number): ProgressEvent => ({ type: 'blob-started', target: 'reg/app', digest, size })
const moved = (digest: string, done: number, size: number): ProgressEvent => ({
  type: 'blob-progress',
  target: 'reg/app',
  digest,
  done,
  size
})
const finished = (digest: string, size: number): ProgressEvent => ({
  type: 'blob-done',
  target: 'reg/app',
  digest,
  size,
  outcome: 'uploaded'
})

describe('bars', () => {
  test.each([
    [0, '[                    ]'],
    [0.05, '[>                   ]'],
    [0.5, '[=========>          ]'],
    [1, '[====================]'],
    [1.7, '[====================]'],
    [-1, '[                    ]']
  ])('bar(%d) is %s', (fraction, text) => {
    expect(bar(fraction)).toBe(text)
  })

  test('a transfer line: short digest, bar, percent, bytes, target', () => {
    expect(barLine({ target: 'reg/app', digest: D1, done: 5 * MiB, size: 20 * MiB })).toBe(
      'a1a1a1a1a1a1 [====>               ]  25% 5.0 MiB of 20.0 MiB to reg/app'
    )
  })

  test('nothing moving draws nothing; past the limit the rest are counted; every line fits the width', () => {
    expect(barLines([], 'total', 80)).toEqual([])
    const transfers: Transfer[] = Array.from({ length: MAX_BARS + 2 }, (_, i) => ({
      target: `registry.example.com/a/very/long/repository/name/${i}`,
      digest: D1,
      done: i,
      size: 10
    }))
    const lines = barLines(transfers, 'Progress: total', 60)
    expect(lines).toHaveLength(MAX_BARS + 2)
    expect(lines.at(-2)).toBe('  ... and 2 more')
    expect(lines.at(-1)).toBe('Progress: total')
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(59)
    expect(lines[0].endsWith('...')).toBe(true)
  })

  test('trackTransfers: a start adds a bar, progress moves it, other events pass, the end takes it away', () => {
    const transfers = new Map<string, Transfer>()
    const steps: Array<[ProgressEvent, boolean, number]> = [
      [started(D1, 10), true, 1],
      [moved(D1, 5, 10), false, 1],
      [planned, false, 1],
      [finished(D1, 10), true, 0]
    ]
    for (const [event, changed, count] of steps) {
      expect(trackTransfers(transfers, event)).toBe(changed)
      expect(transfers.size).toBe(count)
    }
  })

  test('erase moves up over the drawn lines and clears below; nothing drawn, nothing to erase', () => {
    expect(erase(0)).toBe('')
    expect(erase(3)).toBe('\x1b[3A\r\x1b[J')
  })
})

describe('BarView', () => {
  function view() {
    const clock = fakeClock()
    const written: string[] = []
    const meter = new ProgressMeter(5000, clock.now)
    return {
      clock,
      written,
      view: new BarView(
        (text) => written.push(text),
        meter,
        () => 100,
        clock.now,
        100
      )
    }
  }

  test('draws a bar when a blob starts, redraws in place when due, never between', () => {
    const { clock, written, view: bars } = view()
    bars.observe(planned)
    expect(written).toEqual([])
    bars.observe(started(D1, 20 * MiB))
    expect(written).toEqual([
      `${barLine({ target: 'reg/app', digest: D1, done: 0, size: 20 * MiB })}\nProgress: 0 B of 30.0 MiB (0%), 0 B/s\n`
    ])
    clock.advance(50)
    bars.observe(moved(D1, 10 * MiB, 20 * MiB))
    // Within 100 ms of the last frame: counted, not drawn.
    expect(written).toHaveLength(1)
    clock.advance(50)
    bars.tick()
    expect(written).toHaveLength(2)
    expect(written[1].startsWith(erase(2))).toBe(true)
    expect(written[1]).toContain(' 50% 10.0 MiB of 20.0 MiB to reg/app\n')
  })

  test('a printed line goes above the bars, which are drawn again under it', () => {
    const { written, view: bars } = view()
    bars.observe(planned)
    bars.observe(started(D1, 20 * MiB))
    bars.observe(started(D2, 10 * MiB))
    written.length = 0
    bars.print('Tagged reg/app:v1')
    expect(written).toHaveLength(2)
    expect(written[0]).toBe(`${erase(3)}Tagged reg/app:v1\n`)
    expect(written[1].split('\n')).toHaveLength(4)
  })

  test('the last blob done clears the bars; close leaves nothing behind', () => {
    const { written, view: bars } = view()
    bars.observe(planned)
    bars.observe(started(D1, 10))
    bars.observe(finished(D1, 10))
    expect(written.at(-1)).toBe(erase(2))
    bars.close()
    expect(written.at(-1)).toBe('')
  })
})

describe('PlainView', () => {
  test('a progress line at most every interval, and only while something moves', () => {
    const clock = fakeClock()
    const lines: string[] = []
    const plain = new PlainView((line) => lines.push(line), new ProgressMeter(5000, clock.now))
    plain.observe(planned)
    plain.observe(started(D1, 20 * MiB))
    plain.tick()
    expect(lines).toEqual([])
    clock.advance(5000)
    plain.observe(moved(D1, 10 * MiB, 20 * MiB))
    expect(lines).toEqual(['Progress: 10.0 MiB of 30.0 MiB (33%), 2.0 MiB/s, about 10 s left'])
    clock.advance(4999)
    plain.tick()
    expect(lines).toHaveLength(1)
    // A stalled transfer still gets its line from the timer's tick.
    clock.advance(1)
    plain.tick()
    expect(lines).toHaveLength(2)
    plain.observe(finished(D1, 20 * MiB))
    clock.advance(60_000)
    plain.tick()
    expect(lines).toHaveLength(2)
  })

  test('printed lines pass through as they are', () => {
    const lines: string[] = []
    new PlainView((line) => lines.push(line), new ProgressMeter(5000)).print('warning: careful')
    expect(lines).toEqual(['warning: careful'])
  })
})

describe('progressInterval', () => {
  test.each([
    [{}, 5000],
    [{ OCI_PUSH_PROGRESS_INTERVAL: '0.2' }, 200],
    [{ OCI_PUSH_PROGRESS_INTERVAL: '0' }, 0],
    [{ OCI_PUSH_PROGRESS_INTERVAL: '' }, 5000],
    [{ OCI_PUSH_PROGRESS_INTERVAL: 'soon' }, 5000],
    [{ OCI_PUSH_PROGRESS_INTERVAL: '-1' }, 5000]
  ])('%j gives %d ms', (env, ms) => {
    expect(progressInterval(env)).toBe(ms)
  })
})

describe('a blob that fails', () => {
  test('leaves the bars and the meter: what is done and what is to come no longer count it', () => {
    const transfers = new Map<string, Transfer>()
    const meter = new ProgressMeter(0, () => 10_000)
    const events: ProgressEvent[] = [
      { type: 'transfer-planned', target: 't', blobs: 2, bytes: 200 },
      { type: 'blob-started', target: 't', digest: 'a', size: 100 },
      { type: 'blob-progress', target: 't', digest: 'a', done: 50, size: 100 },
      { type: 'blob-started', target: 't', digest: 'b', size: 100 },
      { type: 'blob-done', target: 't', digest: 'b', size: 100, outcome: 'uploaded' },
      { type: 'blob-failed', target: 't', digest: 'a', size: 100 }
    ]
    for (const event of events) {
      trackTransfers(transfers, event)
      meter.observe(event)
    }
    expect(transfers.size).toBe(0)
    expect(meter.fraction()).toBe(1)
    expect(meter.line()).toBeUndefined()
  })
})

describe('transfers before any is planned (a docker save uploading layers as they are compressed)', () => {
  test('the clock starts with the first transfer; lines say what moved so far, then measure against the plan once it comes', () => {
    const clock = fakeClock()
    const meter = new ProgressMeter(5000, clock.now)
    meter.observe(started(D1, 20 * MiB))
    clock.advance(5000)
    meter.observe(moved(D1, 10 * MiB, 20 * MiB))
    expect(meter.line()).toBe('Progress: 10.0 MiB so far, 2.0 MiB/s')
    meter.observe(planned)
    clock.advance(5000)
    // The rate counts from the first transfer, not from the plan.
    expect(meter.line()).toBe('Progress: 10.0 MiB of 30.0 MiB (33%), 1.0 MiB/s, about 20 s left')
  })
})
