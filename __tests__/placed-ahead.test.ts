/** Blobs placed ahead of their copy (placed-ahead.ts): found and counted by the copy, waited for only while it runs. */
import { describe, expect, test } from '@jest/globals'
import { emptyStats } from '../src/engine/events.js'
import { placedAhead, untilAborted, type AheadLookup } from '../src/engine/placed-ahead.js'
import { blobCopy } from './helpers/blob-copy.js'
import { MemoryStore } from './helpers/memory-store.js'

const blob = { mediaType: 'application/octet-stream', digest: 'sha256:a', size: 5 }

describe('untilAborted', () => {
  test('the answer when it comes first; nothing asked, nothing waited', async () => {
    const signal = new AbortController().signal
    await expect(untilAborted(Promise.resolve('done'), signal)).resolves.toBe('done')
    await expect(untilAborted(undefined, signal)).resolves.toBeUndefined()
  })

  test("the abort's reason as soon as the signal is aborted, or at once when it was", async () => {
    const controller = new AbortController()
    const waiting = untilAborted(new Promise(() => {}), controller.signal)
    const reason = new Error('another blob failed')
    controller.abort(reason)
    await expect(waiting).rejects.toBe(reason)
    await expect(untilAborted(Promise.resolve('late'), controller.signal)).rejects.toBe(reason)
  })
})

describe('placedAhead', () => {
  const move = (ahead?: AheadLookup) => {
    const target = new MemoryStore('dst')
    return { target, ...blobCopy(new MemoryStore('src'), target, ahead ? { ahead } : {}) }
  }

  test.each([
    ['no lookup', undefined],
    ['not placed ahead', () => undefined],
    ['placed ahead, but that failed', () => Promise.resolve(undefined)]
  ])('%s: the copy places it', async (_, ahead) => {
    const { copy } = move(ahead)
    expect(await placedAhead(blob, copy)).toBe(false)
    expect(copy.stats).toEqual(emptyStats())
  })

  test("placed ahead: counted as the copy's own, nothing asked of the target", async () => {
    const { copy, target, events } = move(() => Promise.resolve('uploaded'))
    expect(await placedAhead(blob, copy)).toBe(true)
    expect(copy.stats).toEqual({ ...emptyStats(), blobsUploaded: 1, bytesUploaded: 5 })
    expect(target.calls).toEqual([])
    expect(events).toEqual([])
  })
})
