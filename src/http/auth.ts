/**
 * Answers a registry's `401` challenges for one client: Basic with the credentials, or Bearer
 * tokens from the challenge's realm (distribution docs/spec/auth/token.md), one per scope set,
 * reused until they expire. A token refused later is fetched again once.
 */
import type { Credentials } from '../auth/credentials.js'
import type { Challenge } from './challenge.js'
import { scopeKey, tokenRequest, type BearerChallenge, type Token, type TokenRequest } from './token.js'

export type TokenFetcher = (request: TokenRequest) => Promise<Token>

export class Authenticator {
  private basic = false
  private bearer: BearerChallenge | undefined
  private readonly tokens = new Map<string, Promise<Token>>()
  /** The value each cached token resolved to, so a refusal of an older one keeps a newer one. */
  private readonly values = new Map<string, string>()

  constructor(
    private readonly origin: string,
    private readonly credentials: Credentials | undefined,
    private readonly fetchToken: TokenFetcher,
    private readonly now: () => number = Date.now
  ) {}

  /**
   * Takes in the challenges of a `401` for a request sent with `scopes`; true when sending it
   * again would carry something new: a first Basic header, a first token, or a fresh token in
   * place of one the registry refused. `sent` is the Authorization the refused request carried:
   * a token fetched since (by a request running alongside) is kept.
   */
  challenged(challenges: readonly Challenge[], scopes: readonly string[], sent?: string): boolean {
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm)
    if (bearer) {
      const known = this.bearer !== undefined
      this.bearer = { realm: bearer.params.realm, ...(bearer.params.service ? { service: bearer.params.service } : {}) }
      const key = scopeKey(scopes)
      const current = this.values.get(key)
      if (known && (current === undefined || sent === `Bearer ${current}`)) {
        this.tokens.delete(key)
        this.values.delete(key)
      }
      return true
    }
    if (challenges.some((c) => c.scheme === 'basic') && this.credentials?.password && !this.basic) {
      this.basic = true
      return true
    }
    return false
  }

  /** The Authorization header for a request needing `scopes`, or undefined when none is needed. */
  async header(scopes: readonly string[]): Promise<string | undefined> {
    if (this.bearer) return `Bearer ${(await this.token(this.bearer, scopes)).value}`
    if (this.basic && this.credentials) {
      return `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`
    }
    return undefined
  }

  private async token(challenge: BearerChallenge, scopes: readonly string[]): Promise<Token> {
    const key = scopeKey(scopes)
    const cached = this.tokens.get(key)
    if (cached) {
      const token = await cached.catch(() => undefined)
      if (token && token.expiresAt > this.now()) return token
      if (this.tokens.get(key) === cached) this.tokens.delete(key)
    }
    let pending = this.tokens.get(key)
    if (!pending) {
      pending = this.fetchToken(tokenRequest(challenge, scopes, this.origin, this.credentials))
      this.tokens.set(key, pending)
      const fetching = pending
      void fetching.then(
        (token) => this.tokens.get(key) === fetching && this.values.set(key, token.value),
        () => undefined
      )
      // A failed fetch is not cached: the next request asks again.
      pending.catch(() => this.tokens.get(key) === pending && this.tokens.delete(key))
    }
    return pending
  }
}
