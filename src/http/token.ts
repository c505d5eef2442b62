/**
 * Bearer tokens (distribution docs/spec/auth/token.md, oauth.md): the request to the realm a
 * `WWW-Authenticate: Bearer` challenge names, and its answer. Pure: the client sends and reads.
 */
import type { Credentials } from '../auth/credentials.js'
import { isLoopback } from '../reference.js'

/** What a Bearer challenge says about where to get tokens. */
export interface BearerChallenge {
  realm: string
  service?: string
}

export interface TokenRequest {
  method: 'GET' | 'POST'
  url: URL
  headers: Record<string, string>
  body?: string
  /** Whether the credentials go with it (not to a plain-HTTP realm on another host). */
  withCredentials: boolean
}

/** Client id sent with OAuth2 requests, as the spec asks. */
export const CLIENT_ID = 'oci-push'

/** Tokens without `expires_in` live 60 s (token.md). */
const DEFAULT_EXPIRES_IN = 60
/** Refresh a little before expiry, so a token does not lapse between check and use. */
const EXPIRY_MARGIN_S = 10

/**
 * Builds the token request for `scopes`: an OAuth2 refresh-token POST when the credentials hold
 * an identity token; otherwise a GET, with Basic credentials when there are any and the realm
 * may have them (HTTPS, the registry's own origin, or loopback).
 */
export function tokenRequest(
  challenge: BearerChallenge,
  scopes: readonly string[],
  registryOrigin: string,
  credentials?: Credentials
): TokenRequest {
  const url = new URL(challenge.realm, registryOrigin)
  const safe = url.protocol === 'https:' || url.origin === new URL(registryOrigin).origin || isLoopback(url.host)
  const withCredentials = credentials !== undefined && safe
  if (withCredentials && credentials.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: CLIENT_ID })
    if (challenge.service) form.set('service', challenge.service)
    if (scopes.length > 0) form.set('scope', scopes.join(' '))
    return { method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(), withCredentials }
  }
  if (challenge.service) url.searchParams.set('service', challenge.service)
  for (const scope of scopes) url.searchParams.append('scope', scope)
  const headers: Record<string, string> = {}
  if (withCredentials && credentials.password) {
    headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
  }
  return { method: 'GET', url, headers, withCredentials }
}

export interface Token {
  value: string
  /** Epoch milliseconds after which it is not used again. */
  expiresAt: number
}

/** Reads `token` (or OAuth2's `access_token`) and `expires_in`; undefined when neither token is there. */
export function parseTokenResponse(body: unknown, now: number): Token | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const { token, access_token: accessToken, expires_in: expiresIn } = body as Record<string, unknown>
  const value = typeof token === 'string' && token ? token : typeof accessToken === 'string' && accessToken ? accessToken : undefined
  if (!value) return undefined
  const lifetime = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : DEFAULT_EXPIRES_IN
  return { value, expiresAt: now + Math.max(lifetime - EXPIRY_MARGIN_S, lifetime / 2) * 1000 }
}

/** A scope set as one key: sorted, so the same scopes in any order share a token. */
export function scopeKey(scopes: readonly string[]): string {
  return [...new Set(scopes)].sort().join(' ')
}
