/**
 * A token service for CNCF distribution's `auth: token` (distribution docs/spec/auth/token.md and
 * oauth.md), small enough to read: GET with Basic or anonymous, POST with an OAuth2 refresh token
 * or password grant. It issues ES256 JWTs whose `x5c` holds its self-signed certificate, the one
 * the registry's `rootcertbundle` trusts. Every request is counted.
 */
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { KeyPair } from './certs.js'

export interface TokenUser {
  password: string
  /** An identity (refresh) token that stands for this user in the OAuth2 POST. */
  refreshToken?: string
}

export interface TokenRequestRecord {
  method: 'GET' | 'POST'
  /** The user the request authenticated as; undefined for anonymous. */
  user?: string
  grantType?: string
  scopes: string[]
  /** Whether the query string held anything but service and scope (it never should). */
  extraQuery: boolean
}

export interface TokenServer {
  realm: string
  service: string
  issuer: string
  requests: TokenRequestRecord[]
  /** Lifetime of the tokens issued from now on, in seconds. */
  expiresIn: number
  stop(): Promise<void>
}

interface Access {
  type: string
  name: string
  actions: string[]
}

/**
 * Starts the service. `grant` decides what each user (undefined: anonymous) may do in a
 * repository; by default anyone pulls and known users also push.
 */
export async function startTokenServer(
  signer: KeyPair,
  users: Record<string, TokenUser>,
  grant: (user: string | undefined, repository: string) => string[] = (user) => (user ? ['pull', 'push'] : ['pull'])
): Promise<TokenServer> {
  const key = createPrivateKey(signer.key)
  const certDer = new X509Certificate(signer.cert).raw.toString('base64')
  const requests: TokenRequestRecord[] = []
  const service = 'oci-push-test-registry'
  const issuer = 'oci-push-test-issuer'
  const state = { expiresIn: 300 }

  const issue = (user: string | undefined, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000)
    const access: Access[] = scopes.flatMap((scope) => parseScope(scope, (name) => grant(user, name)))
    const header = { alg: 'ES256', typ: 'JWT', x5c: [certDer] }
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: now + state.expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access
    }
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`
    // JWS ES256 wants the raw r||s signature, not DER.
    const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' })
    return `${signingInput}.${signature.toString('base64url')}`
  }

  const server: Server = createServer((req, res) => {
    void handle(req).then(
      ({ status, body }) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      () => res.writeHead(500).end()
    )
  })

  const handle = async (req: IncomingMessage): Promise<{ status: number; body: unknown }> => {
    const url = new URL(req.url ?? '/', 'http://token')
    const extraQuery = [...url.searchParams.keys()].some((k) => k !== 'service' && k !== 'scope')
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req))
      const grantType = form.get('grant_type') ?? ''
      const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean)
      let user: string | undefined
      if (grantType === 'refresh_token') user = Object.keys(users).find((u) => users[u].refreshToken === form.get('refresh_token'))
      if (grantType === 'password')
        user = users[form.get('username') ?? '']?.password === form.get('password') ? (form.get('username') ?? '') : undefined
      requests.push({ method: 'POST', grantType, scopes, extraQuery, ...(user ? { user } : {}) })
      if (!user || form.get('client_id') === null)
        return { status: 401, body: { errors: [{ code: 'UNAUTHORIZED', message: 'invalid grant' }] } }
      return { status: 200, body: { access_token: issue(user, scopes), expires_in: state.expiresIn, scope: scopes.join(' ') } }
    }
    const scopes = url.searchParams.getAll('scope')
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')
    let user: string | undefined
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
      const name = decoded.slice(0, decoded.indexOf(':'))
      if (users[name]?.password !== decoded.slice(decoded.indexOf(':') + 1)) {
        requests.push({ method: 'GET', scopes, extraQuery })
        return { status: 401, body: { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] } }
      }
      user = name
    }
    requests.push({ method: 'GET', scopes, extraQuery, ...(user ? { user } : {}) })
    return { status: 200, body: { token: issue(user, scopes), expires_in: state.expiresIn, issued_at: new Date().toISOString() } }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    requests,
    get expiresIn() {
      return state.expiresIn
    },
    set expiresIn(value: number) {
      state.expiresIn = value
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** `repository:name:pull,push` → the access granted of what was asked. */
function parseScope(scope: string, allowed: (name: string) => string[]): Access[] {
  const parts = scope.split(':')
  if (parts.length < 3) return []
  const [type, actions] = [parts[0], parts[parts.length - 1]]
  const name = parts.slice(1, -1).join(':')
  const granted = actions.split(',').filter((a) => allowed(name).includes(a))
  return [{ type, name, actions: granted }]
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url')
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
