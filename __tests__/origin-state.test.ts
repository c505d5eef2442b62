/**
 * An origin's auth state alone (unknown → pinging → answered), with the ping and the requests as
 * promises the test settles itself: no network. What the registries see of it is proved in
 * auth.integration.test.ts.
 */
import { describe, expect, test } from '@jest/globals'
import { ConnectionError, RegistryError } from '../src/errors.js'
import { OriginAuthState, OriginPings, type PingAnswer } from '../src/http/origin-state.js'

const ORIGIN = 'https://registry.example'
const bearer: PingAnswer = [{ scheme: 'bearer', params: { realm: 'https://auth.example/token' } }]
const reset = () => new ConnectionError('ping registry', ORIGIN, 'socket hang up', undefined, 'ECONNRESET')
const notRegistry = () => new RegistryError('ping registry', 'registry.example', 404, [])

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (error: unknown) => void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Lets every settled promise's reactions run. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve))

/** A client's state whose pings are answered one by one by the test, counting them and what it learnt. */
function client(pings = new OriginPings()) {
  const answers: Array<Deferred<PingAnswer>> = []
  const learnt: PingAnswer[] = []
  const state = new OriginAuthState({
    origin: ORIGIN,
    pings,
    ping: () => {
      answers.push(deferred<PingAnswer>())
      return answers[answers.length - 1].promise
    },
    learn: (answer) => learnt.push(answer)
  })
  return { state, answers, learnt, pings }
}

describe('a client alone', () => {
  test('unknown → pinging → answered: the request waits for the ping, whose answer is learnt once', async () => {
    const { state, answers, learnt } = client()
    expect(state.status).toBe('unknown')
    const sent = state.send(() => Promise.resolve('response'))
    expect(state.status).toBe('pinging')
    expect(answers).toHaveLength(1)
    answers[0].resolve(bearer)
    expect(await sent).toBe('response')
    expect(state.status).toBe('answered')
    await state.send(() => Promise.resolve('again'))
    expect(answers).toHaveLength(1)
    expect(learnt).toEqual([bearer])
  })

  test('two requests at once wait for one ping', async () => {
    const { state, answers } = client()
    const requests: string[] = []
    const both = Promise.all(['a', 'b'].map((name) => state.send(() => Promise.resolve(requests.push(name)))))
    await settled()
    expect(requests).toEqual([])
    answers[0].resolve(undefined)
    await both
    expect(answers).toHaveLength(1)
    expect(requests.sort()).toEqual(['a', 'b'])
  })

  test('a transient ping failure fails the try, and is forgotten: the next try pings again', async () => {
    const { state, answers, learnt } = client()
    const first = state.send(() => Promise.resolve('response'))
    const error = reset()
    answers[0].reject(error)
    await expect(first).rejects.toBe(error)
    expect(state.status).toBe('unknown')
    const second = state.send(() => Promise.resolve('response'))
    expect(answers).toHaveLength(2)
    answers[1].resolve(bearer)
    expect(await second).toBe('response')
    expect(learnt).toEqual([bearer])
  })

  test('a lasting ping failure (no registry there) fails every later request alike, asking nothing more', async () => {
    const { state, answers } = client()
    const error = notRegistry()
    const first = state.send(() => Promise.resolve('response'))
    answers[0].reject(error)
    await expect(first).rejects.toBe(error)
    expect(state.status).toBe('failed')
    await expect(state.send(() => Promise.resolve('response'))).rejects.toBe(error)
    await expect(state.ready()).rejects.toBe(error)
    expect(answers).toHaveLength(1)
  })

  test('ready() (warm) pings early; once answered it asks nothing', async () => {
    const { state, answers } = client()
    const warm = state.ready()
    expect(state.status).toBe('pinging')
    answers[0].resolve(undefined)
    await warm
    await state.ready()
    await state.send(
      () => Promise.resolve('response'),
      () => Promise.resolve('stand-in')
    )
    expect(answers).toHaveLength(1)
  })
})

describe('a request standing in for the ping', () => {
  test('goes first, with no ping; once answered no ping is ever asked', async () => {
    const { state, answers, learnt } = client()
    const standIn = deferred<string>()
    const first = state.send(
      () => Promise.resolve('request'),
      () => standIn.promise
    )
    expect(state.status).toBe('pinging')
    standIn.resolve('stood in')
    expect(await first).toBe('stood in')
    expect(state.status).toBe('answered')
    expect(
      await state.send(
        () => Promise.resolve('request'),
        () => Promise.resolve('stand-in')
      )
    ).toBe('request')
    expect(answers).toHaveLength(0)
    expect(learnt).toEqual([])
  })

  test('requests alongside wait for its answer, and then need no ping', async () => {
    const { state, answers } = client()
    const standIn = deferred<string>()
    const order: string[] = []
    const first = state.send(
      () => Promise.resolve('request'),
      () => standIn.promise.finally(() => order.push('stand-in'))
    )
    const alongside = [1, 2].map((n) => state.send(() => Promise.resolve(order.push(`alongside ${n}`))))
    await settled()
    expect(order).toEqual([])
    standIn.resolve('stood in')
    await Promise.all([first, ...alongside])
    expect(order).toEqual(['stand-in', 'alongside 1', 'alongside 2'])
    expect(answers).toHaveLength(0)
  })

  test('one that fails (a reset): those alongside ping, once; its own next try waits for that ping', async () => {
    const { state, answers, learnt } = client()
    const standIn = deferred<string>()
    const first = state.send(
      () => Promise.resolve('request'),
      () => standIn.promise
    )
    const alongside = [1, 2].map(() => state.send(() => Promise.resolve('request')))
    const error = reset()
    standIn.reject(error)
    await expect(first).rejects.toBe(error)
    await settled()
    expect(state.status).toBe('pinging')
    expect(answers).toHaveLength(1)
    const retry = state.send(
      () => Promise.resolve('retried'),
      () => Promise.resolve('stood in again')
    )
    answers[0].resolve(bearer)
    expect(await Promise.all(alongside)).toEqual(['request', 'request'])
    expect(await retry).toBe('retried')
    expect(answers).toHaveLength(1)
    expect(learnt).toEqual([bearer])
  })

  test('one that fails with nothing alongside: the next try stands in again', async () => {
    const { state, answers } = client()
    await expect(
      state.send(
        () => Promise.resolve('request'),
        () => Promise.reject(reset())
      )
    ).rejects.toBeInstanceOf(ConnectionError)
    expect(state.status).toBe('unknown')
    expect(
      await state.send(
        () => Promise.resolve('request'),
        () => Promise.resolve('stood in again')
      )
    ).toBe('stood in again')
    expect(answers).toHaveLength(0)
  })

  test('asks the ping after all (a 4xx other than 401) without leaving pinging, and the answer is kept', async () => {
    const { state, answers, pings } = client()
    const first = state.send(
      () => Promise.resolve('request'),
      async () => `sent again with ${JSON.stringify(await state.pingAnswer())}`
    )
    expect(answers).toHaveLength(1)
    expect(state.status).toBe('pinging')
    answers[0].resolve(bearer)
    expect(await first).toBe(`sent again with ${JSON.stringify(bearer)}`)
    expect(state.status).toBe('answered')
    expect(pings.status(ORIGIN)).toBe('answered')
  })
})

describe('clients of one run sharing their pings', () => {
  test('ping an origin once, and each learns its answer', async () => {
    const pings = new OriginPings()
    const [a, b] = [client(pings), client(pings)]
    const sent = [a.state.send(() => Promise.resolve('a')), b.state.send(() => Promise.resolve('b'))]
    expect(pings.status(ORIGIN)).toBe('pinging')
    expect([a.answers.length, b.answers.length]).toEqual([1, 0])
    a.answers[0].resolve(bearer)
    expect(await Promise.all(sent)).toEqual(['a', 'b'])
    expect(pings.status(ORIGIN)).toBe('answered')
    expect([a.learnt, b.learnt]).toEqual([[bearer], [bearer]])
  })

  test('an answer known from another client means no stand-in: it is learnt at once, with no ping', async () => {
    const pings = new OriginPings()
    const warm = client(pings)
    const warming = warm.state.ready()
    warm.answers[0].resolve(bearer)
    await warming
    const anonymous = client(pings)
    const order: string[] = []
    await anonymous.state.send(
      () => Promise.resolve(order.push('request')),
      () => Promise.resolve(order.push('stand-in'))
    )
    expect(order).toEqual(['request'])
    expect(anonymous.answers).toHaveLength(0)
    expect(anonymous.learnt).toEqual([bearer])
  })

  test("another client's ping still on its way is not waited for: the stand-in goes alongside it", async () => {
    const pings = new OriginPings()
    const warm = client(pings)
    void warm.state.ready()
    const anonymous = client(pings)
    expect(
      await anonymous.state.send(
        () => Promise.resolve('request'),
        () => Promise.resolve('stood in')
      )
    ).toBe('stood in')
    expect(warm.state.status).toBe('pinging')
  })

  test('a failed ping is forgotten by the run: another client pings again, each failing in its own way', async () => {
    const pings = new OriginPings()
    const [a, b] = [client(pings), client(pings)]
    const error = notRegistry()
    const first = a.state.ready()
    a.answers[0].reject(error)
    await expect(first).rejects.toBe(error)
    expect(pings.status(ORIGIN)).toBe('unknown')
    expect(a.state.status).toBe('failed')
    const second = b.state.ready()
    expect(b.answers).toHaveLength(1)
    b.answers[0].resolve(undefined)
    await second
    expect(b.state.status).toBe('answered')
  })

  test('origins are apart', async () => {
    const pings = new OriginPings()
    await pings.answer(ORIGIN, () => Promise.resolve(bearer))
    expect(pings.status(ORIGIN)).toBe('answered')
    expect(pings.status('https://other.example')).toBe('unknown')
  })
})
