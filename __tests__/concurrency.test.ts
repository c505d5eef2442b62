/** Slots: tasks that arrive one by one, at most `limit` running at once (the uploads of a docker save's layers as they are compressed). */
import { describe, expect, test } from '@jest/globals'
import { Slots } from '../src/concurrency.js'

const tick = () => new Promise((resolve) => setTimeout(resolve, 1))

describe('Slots', () => {
  test.each([1, 2, 5])('limit %i: never more running at once, and every task runs to its end', async (limit) => {
    const slots = new Slots(limit)
    let running = 0
    let peak = 0
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        slots.run(async () => {
          peak = Math.max(peak, ++running)
          await tick()
          running--
          return i
        })
      )
    )
    expect(peak).toBe(limit)
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => i))
  })

  test('a task that fails gives its error to its caller and its slot to the next', async () => {
    const slots = new Slots(1)
    const failed = slots.run(() => Promise.reject(new Error('refused')))
    const next = slots.run(() => Promise.resolve('ran'))
    await expect(failed).rejects.toThrow('refused')
    await expect(next).resolves.toBe('ran')
  })
})
