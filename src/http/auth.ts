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

  constructor(
    private readonly origin: string,
    private readonly credentials: Credentials | undefined,
    private readonly fetchToken: TokenFetcher,
    private readonly now: () => number = Date.now
  ) {}

  /**
   * Takes in the challenges of a `401` for a request sent with `scopes`; true when sending it
   * again would carry something new: a first Basic header, a first token, or a fresh token in
   * place of one the registry refused.
   */
  challenged(challenges: readonly Challenge[], scopes: readonly string[]): boolean {
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm)
    if (bearer) {
      const known = this.bearer !== undefined
      this.bearer = { realm: bearer.params.realm, ...(bearer.params.service ? { service: bearer.params.service } : {}) }
      if (known) this.tokens.delete(scopeKey(scopes))
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
      // A failed fetch is not cached: the next request asks again.
      pending.catch(() => this.tokens.get(key) === pending && this.tokens.delete(key))
    }
    return pending
  }
}
