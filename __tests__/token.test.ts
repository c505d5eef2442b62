import { describe, expect, test } from '@jest/globals'
import { parseTokenResponse, scopeKey, tokenRequest } from '../src/http/token.js'

const login = { username: 'u', password: 'p' }
const basic = `Basic ${Buffer.from('u:p').toString('base64')}`

describe('tokenRequest', () => {
  test('a GET with service, every scope, and Basic credentials for an HTTPS realm', () => {
    const request = tokenRequest(
      { realm: 'https://auth.example.com/token', service: 'registry.example.com' },
      ['repository:a:pull', 'repository:b:pull,push'],
      'https://registry.example.com',
      login
    )
    expect(request.method).toBe('GET')
    expect(request.url.href).toBe(
      'https://auth.example.com/token?service=registry.example.com&scope=repository%3Aa%3Apull&scope=repository%3Ab%3Apull%2Cpush'
    )
    expect(request.headers).toEqual({ authorization: basic })
    expect(request.withCredentials).toBe(true)
  })

  test('anonymous without credentials', () => {
    const request = tokenRequest({ realm: 'https://auth.example.com/token' }, ['repository:a:pull'], 'https://r.example.com')
    expect(request.headers).toEqual({})
    expect(request.url.searchParams.has('service')).toBe(false)
  })

  test.each([
    ['a plain-HTTP realm on another host gets no credentials', 'http://auth.example.com/token', 'https://r.example.com', false],
    ['a plain-HTTP realm on the registry itself does', 'http://r.example.com:5000/token', 'http://r.example.com:5000', true],
    ['a plain-HTTP realm on loopback does', 'http://127.0.0.1:9000/token', 'http://127.0.0.1:5000', true],
    ['a relative realm is the registry itself', '/token', 'http://r.example.com', true]
  ])('%s', (_name, realm, origin, sent) => {
    const request = tokenRequest({ realm }, ['repository:a:pull'], origin, login)
    expect(request.withCredentials).toBe(sent)
    expect(request.headers.authorization !== undefined).toBe(sent)
  })

  test('an identity token is exchanged with an OAuth2 refresh-token POST, scopes space separated', () => {
    const request = tokenRequest(
      { realm: 'https://auth.example.com/token', service: 's' },
      ['repository:a:pull', 'repository:b:push'],
      'https://r',
      {
        username: '',
        password: '',
        identityToken: 'refresh-me'
      }
    )
    expect(request.method).toBe('POST')
    expect(request.url.search).toBe('')
    expect(request.headers).toEqual({ 'content-type': 'application/x-www-form-urlencoded' })
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'refresh-me',
      client_id: 'oci-push',
      service: 's',
      scope: 'repository:a:pull repository:b:push'
    })
  })
})

describe('parseTokenResponse', () => {
  const now = 1_000_000
  test.each([
    ['token with expires_in', { token: 't', expires_in: 300 }, { value: 't', expiresAt: now + 290_000 }],
    ['access_token (OAuth2)', { access_token: 'a', expires_in: 120 }, { value: 'a', expiresAt: now + 110_000 }],
    ['token preferred over access_token', { token: 't', access_token: 'a' }, { value: 't', expiresAt: now + 50_000 }],
    ['no expires_in: 60 s', { token: 't' }, { value: 't', expiresAt: now + 50_000 }],
    ['a short lifetime keeps at least half of it', { token: 't', expires_in: 4 }, { value: 't', expiresAt: now + 2_000 }],
    ['no token at all', { expires_in: 60 }, undefined],
    ['an empty token', { token: '' }, undefined],
    ['not an object', 'token', undefined]
  ])('%s', (_name, body, expected) => {
    expect(parseTokenResponse(body, now)).toEqual(expected)
  })
})

test('scopeKey: the same scopes in any order, duplicates folded, share one key', () => {
  expect(scopeKey(['repository:b:pull', 'repository:a:pull', 'repository:b:pull'])).toBe(
    scopeKey(['repository:a:pull', 'repository:b:pull'])
  )
  expect(scopeKey(['repository:a:pull'])).not.toBe(scopeKey(['repository:a:pull,push']))
})
