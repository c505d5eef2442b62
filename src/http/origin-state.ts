/**
 * What a client knows of how its registry origin authenticates, as one small machine:
 *
 *     unknown ── ping, or a request standing in for it ──▶ pinging ── answer ──▶ answered
 *        ▲                                                    │
 *        └── the stand-in failed, or the ping did for now ────┤
 *                                the ping failed for good ────┴──▶ failed
 *
 * The ping is `GET /v2/` (distribution-spec end-1): a 401 names the auth scheme and realm
 * (distribution docs/spec/auth/token.md), a 200 says none is needed. It is asked once per origin
 * in a run ({@link OriginPings}), and each client teaches its own credentials what it answered, as
 * go-containerregistry's `transport.NewWithContext` pings once and keeps what it learnt.
 * Nothing here sends a request: the client hands in how to ping and how to send.
 */
import { isTransient } from '../errors.js'
import type { Challenge } from './challenge.js'

/** What a `/v2/` ping taught: the challenges of a 401, or none when the registry answered 200. */
export type PingAnswer = readonly Challenge[] | undefined

export type OriginStatus = 'unknown' | 'pinging' | 'answered' | 'failed'

/**
 * The `/v2/` pings of one run, by origin, shared by its clients: the source's and the
 * destination's clients of one registry ping it once (a round trip each saved). A failed ping is
 * forgotten, so whoever asks next pings again.
 */
export class OriginPings {
  private readonly origins = new Map<string, { answer: Promise<PingAnswer>; answered: boolean }>()

  status(origin: string): Exclude<OriginStatus, 'failed'> {
    const known = this.origins.get(origin)
    return known === undefined ? 'unknown' : known.answered ? 'answered' : 'pinging'
  }

  /** The origin's answer: the one known or on its way, or else the one `ping` brings. */
  answer(origin: string, ping: () => Promise<PingAnswer>): Promise<PingAnswer> {
    const known = this.origins.get(origin)
    if (known) return known.answer
    const entry = { answer: ping(), answered: false }
    this.origins.set(origin, entry)
    void entry.answer.then(
      () => (entry.answered = true),
      () => this.origins.delete(origin)
    )
    return entry.answer
  }
}

type State =
  | { status: 'unknown' }
  /** `done` settles once the ping, or the request standing in for it, has its answer or has failed. */
  | { status: 'pinging'; by: 'ping' | 'stand-in'; done: Promise<unknown> }
  | { status: 'answered' }
  /** No registry there, or one that refused the ping: every request fails alike, asking nothing. */
  | { status: 'failed'; error: unknown }

export interface OriginAuthStateOptions {
  origin: string
  /** The run's pings, shared with its other clients. */
  pings: OriginPings
  /** Sends `GET /v2/` and reads its answer. */
  ping: () => Promise<PingAnswer>
  /** Teaches the client's authenticator what the ping answered. */
  learn: (answer: PingAnswer) => void
}

/** One client's view of its origin's auth: the machine above. */
export class OriginAuthState {
  private state: State = { status: 'unknown' }

  constructor(private readonly options: OriginAuthStateOptions) {}

  get status(): OriginStatus {
    return this.state.status
  }

  /**
   * Sends a request once the origin's auth is known: at once when answered, else after the ping
   * (its own, or one on its way). `standIn`, when given, is sent in the ping's place while nothing
   * is known, so that its own answer teaches what the ping's would; but not when another client
   * has the ping's answer already, which costs nothing more. Requests alongside a stand-in wait
   * for its answer; when it fails (a reset, say) they ping, and its own next try may stand in again.
   */
  async send<T>(request: () => Promise<T>, standIn?: () => Promise<T>): Promise<T> {
    if (standIn && this.state.status === 'unknown' && this.options.pings.status(this.options.origin) !== 'answered') {
      const answer = standIn()
      this.enter({ status: 'pinging', by: 'stand-in', done: answer }, () => ({ status: 'unknown' }))
      return answer
    }
    await this.ready()
    return request()
  }

  /** Waits until the origin's auth is known, and pings when nothing is on its way to tell it. */
  async ready(): Promise<void> {
    for (;;) {
      const state = this.state
      if (state.status === 'answered') return
      if (state.status === 'failed') throw state.error
      if (state.status === 'unknown') return this.ping()
      if (state.by === 'ping') {
        await state.done
        return
      }
      // A stand-in is waited for as a ping would be: answered, no ping is needed; failed, one is.
      await state.done.catch(() => undefined)
    }
  }

  /** The origin's ping answer, this state left as it is: for a stand-in whose own answer did not teach enough. */
  pingAnswer(): Promise<PingAnswer> {
    return this.options.pings.answer(this.options.origin, this.options.ping)
  }

  /** Part of the try of the request that needs it: a transient failure is forgotten, so its next try pings again. */
  private ping(): Promise<void> {
    const done = this.pingAnswer().then(this.options.learn)
    this.enter({ status: 'pinging', by: 'ping', done }, (error) =>
      isTransient(error) ? { status: 'unknown' } : { status: 'failed', error }
    )
    return done
  }

  /**
   * Enters `pinging`, and leaves it for `answered` when `done` resolves, or for what `failed` says
   * when it rejects: before anyone waiting for `done` goes on, as this is the first to wait.
   */
  private enter(pinging: Extract<State, { status: 'pinging' }>, failed: (error: unknown) => State): void {
    this.state = pinging
    void pinging.done.then(
      () => (this.state = { status: 'answered' }),
      (error: unknown) => (this.state = failed(error))
    )
  }
}
