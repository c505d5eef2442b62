/**
 * Slots: tasks that arrive one by one, at most `limit` running at once (the uploads of a docker
 * save's layers as they are compressed). InTurn: tasks that get there out of order go in order
 * (mirror pairs checked many at once, copied in the config's order).
 */
import { describe, expect, test } from '@jest/globals'
import { InTurn, Slots } from '../src/concurrency.js'

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

describe('InTurn', () => {
  test('turns go in ticket order whatever order the tickets arrive in; tickets done without a turn hold nobody up', async () => {
    const turns = new InTurn()
    const order: number[] = []
    const take = async (ticket: number) => {
      await turns.turn(ticket)
      order.push(ticket)
      turns.done(ticket)
    }
    const taken = [4, 2, 0, 5].map(take)
    // 1 and 3 need no turn: marked done, late and out of order, and again (no effect).
    turns.done(3)
    await tick()
    expect(order).toEqual([0])
    turns.done(1)
    turns.done(1)
    await Promise.all(taken)
    expect(order).toEqual([0, 2, 4, 5])
  })
})
