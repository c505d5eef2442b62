/**
 * Logging in the ways workflows already do, against real registries: CNCF distribution with
 * `auth: token` (our token service), with htpasswd, and over TLS with a certificate made at test
 * time. Credentials come from inputs, Docker and Helm configs and credential helpers.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConnectionError, RegistryError } from '../src/errors.js'
import { runAction } from '../testbed/action.js'
import { selfSigned, type KeyPair } from '../testbed/certs.js'
import { image, index, listTags, pushFixture } from '../testbed/fixtures.js'
import { registryError, startProxy, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { startTokenServer, type TokenServer } from '../testbed/token-server.js'
import { requireTools, run, skopeoRaw } from '../testbed/tools.js'
import { copy } from './helpers/copy.js'
import { StaticCredentials } from '../src/auth/credentials.js'
import { Registries } from '../src/registry/registries.js'
import { RegistryClient } from '../src/http/client.js'
import { OriginPings } from '../src/http/origin-state.js'
import { Agent } from '../src/http/agent.js'
import { parseReference } from '../src/reference.js'
import { silentLogger } from '../src/log.js'

const pusher = { username: 'pusher', password: 'pusher-secret-8d1f', refreshToken: 'refresh-token-5a77c0' }
const basicLogin = { username: 'basic-user', password: 'basic-secret-93ab' }
const amd64 = image({ seed: 'auth-amd64', layers: 3 })
const multi = index([amd64, image({ seed: 'auth-arm64', layers: 3, architecture: 'arm64' })])

let open: TestRegistry
let tok: TestRegistry
let basic: TestRegistry
let tls: TestRegistry
let tokens: TokenServer
let tokProxy: RecordingProxy
let signer: KeyPair
let serverCert: KeyPair
let scratch: string

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo', 'htpasswd', 'openssl'])
  ;[signer, serverCert] = await Promise.all([selfSigned('oci-push token issuer'), selfSigned('127.0.0.1')])
  // Anyone may pull from public/*; only known users see anything else, and only they push.
  tokens = await startTokenServer(signer, { pusher }, (user, repository) =>
    user ? ['pull', 'push'] : repository.startsWith('public/') ? ['pull'] : []
  )
  const token = { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertFile: signer.certFile }
  ;[open, tok, basic, tls] = await Promise.all([
    startRegistry(),
    startRegistry({ token }),
    startRegistry({ htpasswd: basicLogin }),
    startRegistry({ tls: { certFile: serverCert.certFile, keyFile: serverCert.keyFile } })
  ])
  tokProxy = await startProxy(tok.port)
  scratch = await mkdtemp(join(tmpdir(), 'oci-push-auth-'))
  await pushFixture(open.host, 'app', multi, 'v1')
  // Seeded by skopeo, an independent client that speaks token auth itself.
  const creds = `${pusher.username}:${pusher.password}`
  for (const repo of ['public/app', 'private/app']) {
    await run('skopeo', [
      'copy',
      '--quiet',
      '--all',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--dest-creds',
      creds,
      `docker://${open.host}/app:v1`,
      `docker://${tok.host}/${repo}:v1`
    ])
  }
}, 120_000)

afterAll(async () => {
  await tokProxy?.stop()
  await tokens?.stop()
  await Promise.all([open, tok, basic, tls].map((r) => r?.stop()))
  await Promise.all([scratch, signer?.dir, serverCert?.dir].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })))
})

const tokenLogin = (registry: string, role: 'source' | 'destination') => ({
  registry,
  role,
  credentials: { username: pusher.username, password: pusher.password }
})
const errorLines = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('::error'))
const tokenRequestsFor = (scope: string) => tokens.requests.filter((r) => r.scopes.includes(scope))

/** Makes the token registry's proxy answer the first PUT to a path containing `part` with a 401, as an expired token gets. */
function refuseOnce(part: string): { count: number } {
  const refusal = { count: 0 }
  tokProxy.faults.answer = (r) => {
    if (r.method !== 'PUT' || !r.path.includes(part) || refusal.count > 0) return undefined
    refusal.count++
    return {
      status: 401,
      headers: { 'www-authenticate': `Bearer realm="${tokens.realm}",service="${tokens.service}"` },
      body: '{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}'
    }
  }
  return refusal
}

/** A Docker config directory holding `config` as config.json, as docker/login-action leaves it. */
async function dockerConfig(name: string, config: unknown): Promise<string> {
  const dir = join(scratch, name)
  await run('mkdir', ['-p', dir])
  await writeFile(join(dir, 'config.json'), JSON.stringify(config))
  return dir
}

const auth = (login: { username: string; password: string }) => Buffer.from(`${login.username}:${login.password}`).toString('base64')

describe('token auth (distribution auth: token)', () => {
  test('anonymous pull and authenticated push through the token service', async () => {
    tokens.requests.length = 0
    await copy(`${tok.host}/public/app:v1`, `${tok.host}/pushed/app:v1`, { credentials: [tokenLogin(tok.host, 'destination')] })
    const pulls = tokenRequestsFor('repository:public/app:pull')
    expect(pulls.length).toBeGreaterThan(0)
    // The source was read anonymously; the push (and the mount from public/app) as the user.
    expect(pulls.filter((r) => r.scopes.length === 1).every((r) => r.user === undefined)).toBe(true)
    expect(tokenRequestsFor('repository:pushed/app:pull,push').every((r) => r.user === 'pusher')).toBe(true)
    // Only service and scope in the query: credentials go in the Authorization header.
    expect(tokens.requests.every((r) => !r.extraQuery)).toBe(true)
    expect(await skopeoRaw(`${tok.host}/pushed/app:v1`, pusher)).toBe(multi.root.bytes.toString())
  })

  test('a private repository refuses anonymous reads with a hint naming the source inputs', async () => {
    const error = await copy(`${tok.host}/private/app:v1`, `${open.host}/nope/app:v1`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).status).toBe(401)
    expect((error as Error).message).toContain('set srcUsername and srcPassword')
    expect(await listTags(open.host, 'nope/app')).toEqual([])
  })

  test('one token per scope set, reused across every request of the copy', async () => {
    tokens.requests.length = 0
    tokProxy.reset()
    await copy(`${open.host}/app:v1`, `${tokProxy.host}/reused/app:v1`, { credentials: [tokenLogin(tokProxy.host, 'destination')] })
    const authorized = tokProxy.requests.filter((r) => r.authorization)
    // Every blob and manifest (more than a dozen requests) went with the one token.
    expect(authorized.length).toBeGreaterThanOrEqual(multi.blobs.length + multi.children.length)
    expect(tokenRequestsFor('repository:reused/app:pull,push')).toHaveLength(1)
    expect(tokens.requests).toHaveLength(1)
  })

  test('a 401 on a cached token fetches a new token once and goes on', async () => {
    tokens.requests.length = 0
    tokProxy.reset()
    const refusal = refuseOnce('/manifests/')
    await copy(`${open.host}/app@${amd64.root.digest}`, `${tokProxy.host}/refreshed/app:v1`, {
      credentials: [tokenLogin(tokProxy.host, 'destination')]
    })
    expect(refusal.count).toBe(1)
    expect(tokenRequestsFor('repository:refreshed/app:pull,push')).toHaveLength(2)
    expect(await skopeoRaw(`${tok.host}/refreshed/app:v1`, pusher)).toBe(amd64.root.bytes.toString())
  })

  test('a token that expires during a long push: the blob is uploaded again, from the source, with a new token', async () => {
    tokens.requests.length = 0
    tokProxy.reset()
    const refusal = refuseOnce('/blobs/uploads/')
    const result = await copy(`${open.host}/app@${amd64.root.digest}`, `${tokProxy.host}/expired/app:v1`, {
      credentials: [tokenLogin(tokProxy.host, 'destination')]
    })
    expect(refusal.count).toBe(1)
    expect(result.stats.blobsUploaded).toBe(amd64.blobs.length)
    expect(tokenRequestsFor('repository:expired/app:pull,push')).toHaveLength(2)
    expect(await skopeoRaw(`${tok.host}/expired/app:v1`, pusher)).toBe(amd64.root.bytes.toString())
  })

  test('a registry that keeps refusing a fresh token fails after one refresh', async () => {
    tokens.requests.length = 0
    tokProxy.reset()
    tokProxy.faults.answer = (r) =>
      r.method === 'PUT' && r.path.includes('/manifests/')
        ? {
            status: 401,
            headers: { 'www-authenticate': `Bearer realm="${tokens.realm}",service="${tokens.service}"` },
            body: '{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}'
          }
        : undefined
    const error = await copy(`${open.host}/app@${amd64.root.digest}`, `${tokProxy.host}/refused/app:v1`, {
      credentials: [tokenLogin(tokProxy.host, 'destination')]
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).status).toBe(401)
    expect(tokenRequestsFor('repository:refused/app:pull,push')).toHaveLength(2)
  })

  test('an identity token is exchanged with the OAuth2 refresh-token grant', async () => {
    tokens.requests.length = 0
    const store = { get: () => Promise.resolve({ username: '', password: '', identityToken: pusher.refreshToken, origin: 'test' }) }
    const secrets: string[] = []
    await copy(`${open.host}/app:v1`, `${tok.host}/oauth/app:v1`, { credentialStore: store, secrets })
    expect(
      tokens.requests.filter((r) => r.method === 'POST' && r.grantType === 'refresh_token' && r.user === 'pusher').length
    ).toBeGreaterThan(0)
    expect(tokens.requests.filter((r) => r.method === 'GET')).toEqual([])
    expect(await skopeoRaw(`${tok.host}/oauth/app:v1`, pusher)).toBe(multi.root.bytes.toString())
    expect(secrets).toContain(pusher.refreshToken)
  })
})

describe("an anonymous client's first request stands in for the ping (issue 17: one round trip less)", () => {
  const v2Pings = (proxy: RecordingProxy) => proxy.requests.filter((r) => r.path === '/v2/' || r.path === '/v2')

  test('a registry that lets anyone in: the manifest GET is the first request, and no /v2/ is asked', async () => {
    const openProxy = await startProxy(open.port)
    try {
      await copy(`${openProxy.host}/app:v1`, `${open.host}/pingless/app:v1`)
      expect(v2Pings(openProxy)).toEqual([])
      expect(openProxy.requests[0]).toMatchObject({ method: 'GET', path: '/v2/app/manifests/v1', authorization: false })
      expect(await skopeoRaw(`${open.host}/pingless/app:v1`)).toBe(multi.root.bytes.toString())
    } finally {
      await openProxy.stop()
    }
  })

  test('token auth, anonymous: the first GET meets the challenge itself (401, one token, the GET again); no /v2/', async () => {
    tokens.requests.length = 0
    tokProxy.reset()
    await copy(`${tokProxy.host}/public/app:v1`, `${open.host}/pingless-token/app:v1`)
    expect(v2Pings(tokProxy)).toEqual([])
    const [first, second] = tokProxy.requests
    expect(first).toMatchObject({ method: 'GET', path: '/v2/public/app/manifests/v1', authorization: false })
    expect(second).toMatchObject({ method: 'GET', path: '/v2/public/app/manifests/v1', authorization: true })
    expect(tokens.requests).toHaveLength(1)
    expect(tokens.requests[0].user).toBeUndefined()
    expect(tokens.requests[0].scopes).toEqual(['repository:public/app:pull'])
  })

  test('requests sent alongside the first wait for its answer: one 401 and one token for a wave of HEADs', async () => {
    tokens.requests.length = 0
    tokProxy.reset()
    const registries = new Registries({ credentials: new StaticCredentials([]), plainHttp: true, logger: silentLogger })
    try {
      const repository = await registries.repository(parseReference(`${tokProxy.host}/public/app:v1`), 'source')
      const answers = await Promise.all(multi.blobs.slice(0, 6).map((blob) => repository.blobExists(blob)))
      expect(answers).toEqual(answers.map(() => true))
    } finally {
      await registries.close()
    }
    expect(tokProxy.requests.filter((r) => !r.authorization)).toHaveLength(1)
    expect(tokProxy.requests.filter((r) => r.authorization)).toHaveLength(6)
    expect(tokens.requests).toHaveLength(1)
  })

  test('a registry that answers 404, not 401, without a token: the ping is asked after all, its challenge met, the GET sent again', async () => {
    tokens.requests.length = 0
    tokProxy.reset()
    tokProxy.faults.answer = (r) =>
      !r.authorization && r.path.includes('/manifests/')
        ? registryError(404, 'NAME_UNKNOWN', 'repository name not known to registry')
        : undefined
    try {
      await copy(`${tokProxy.host}/public/app:v1`, `${open.host}/hidden/app:v1`)
    } finally {
      tokProxy.faults.answer = undefined
    }
    expect(tokProxy.requests.slice(0, 3).map((r) => `${r.method} ${r.path} ${r.authorization}`)).toEqual([
      'GET /v2/public/app/manifests/v1 false',
      'GET /v2/ false',
      'GET /v2/public/app/manifests/v1 true'
    ])
    expect(await skopeoRaw(`${open.host}/hidden/app:v1`)).toBe(multi.root.bytes.toString())
  })

  test("a host that is no registry: the error is the ping's, naming the registry, as before", async () => {
    const notRegistry = await startProxy(open.port)
    notRegistry.faults.answer = () => ({ status: 404, headers: { 'content-type': 'text/html' }, body: '<html>not here</html>' })
    try {
      await expect(copy(`${notRegistry.host}/app:v1`, `${open.host}/never/app:v1`)).rejects.toThrow(/ping registry/)
    } finally {
      await notRegistry.stop()
    }
  })

  test("an origin's ping already answered (another client's) is used: the first request goes with a token at once", async () => {
    tokens.requests.length = 0
    tokProxy.reset()
    const pings = new OriginPings()
    const agent = new Agent()
    const client = (role: 'source' | 'destination') =>
      new RegistryClient({
        origin: `http://${tokProxy.host}`,
        registry: tokProxy.host,
        role,
        dispatcher: agent,
        logger: silentLogger,
        pings
      })
    try {
      await client('destination').warm()
      const res = await client('source').request({
        method: 'HEAD',
        url: '/v2/public/app/manifests/v1',
        operation: 'check manifest',
        reference: `${tokProxy.host}/public/app:v1`,
        accept: [200],
        scopes: ['repository:public/app:pull'],
        headers: { accept: 'application/vnd.oci.image.index.v1+json' }
      })
      expect(res.status).toBe(200)
    } finally {
      await agent.close()
    }
    expect(tokProxy.requests.map((r) => `${r.method} ${r.path} ${r.authorization}`)).toEqual([
      'GET /v2/ false',
      'HEAD /v2/public/app/manifests/v1 true'
    ])
  })

  test("an origin's ping still on its way is not waited for: the first request goes alongside it", async () => {
    const pings = new OriginPings()
    void pings.answer(`http://${open.host}`, () => new Promise<never>(() => {}))
    const agent = new Agent()
    try {
      const client = new RegistryClient({
        origin: `http://${open.host}`,
        registry: open.host,
        role: 'source',
        dispatcher: agent,
        logger: silentLogger,
        pings
      })
      const res = await client.request({
        method: 'HEAD',
        url: '/v2/app/manifests/v1',
        operation: 'check manifest',
        reference: `${open.host}/app:v1`,
        accept: [200],
        headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json' }
      })
      expect(res.status).toBe(200)
    } finally {
      await agent.close()
    }
  }, 10_000)

  test('with credentials the ping comes first, so they go with the first request', async () => {
    tokens.requests.length = 0
    tokProxy.reset()
    await copy(`${tokProxy.host}/private/app:v1`, `${open.host}/pinged/app:v1`, { credentials: [tokenLogin(tokProxy.host, 'source')] })
    expect(tokProxy.requests[0]).toMatchObject({ method: 'GET', path: '/v2/', authorization: false })
    expect(tokProxy.requests.slice(1).every((r) => r.authorization)).toBe(true)
    expect(tokens.requests.every((r) => r.user === 'pusher')).toBe(true)
  })
})

describe('the action with the logins workflows already have', () => {
  test('a wrong password is refused, and no secret reaches the output', async () => {
    const password = 'wrong-password-7e2c'
    const result = await runAction(
      { srcRef: `${open.host}/app:v1`, destRef: `${tok.host}/wrong/app:v1`, username: pusher.username, password },
      { RUNNER_DEBUG: '1', DOCKER_CONFIG: await dockerConfig('empty', {}) }
    )
    expect(result.exitCode).toBe(1)
    expect(errorLines(result.stdout)).toEqual([expect.stringMatching(/401 UNAUTHORIZED.*refused the credentials from the username input/)])
    const printed = (result.stdout + result.stderr).split('\n').filter((line) => !line.startsWith('::add-mask::'))
    const basicValue = Buffer.from(`${pusher.username}:${password}`).toString('base64')
    expect(printed.join('\n')).not.toContain(password)
    expect(printed.join('\n')).not.toContain(basicValue)
    expect(result.stdout).toContain(`::add-mask::${basicValue}`)
    await expect(skopeoRaw(`${tok.host}/wrong/app:v1`, pusher)).rejects.toThrow(/manifest unknown|not found|name unknown/i)
  })

  test('two registries, two docker/login-action logins, one push: credentials from the Docker config', async () => {
    const config = await dockerConfig('logins', {
      auths: { [tok.host]: { auth: auth(pusher) }, [`https://${basic.host}/v1/`]: { auth: auth(basicLogin) } }
    })
    const result = await runAction(
      { srcRef: `${open.host}/app:v1`, destRef: `${tok.host}/from-config/app:v1\n${basic.host}/from-config/app:v1` },
      { DOCKER_CONFIG: config, RUNNER_DEBUG: '1' }
    )
    expect(errorLines(result.stdout)).toEqual([])
    expect(result.exitCode).toBe(0)
    expect(await skopeoRaw(`${tok.host}/from-config/app:v1`, pusher)).toBe(multi.root.bytes.toString())
    expect(await skopeoRaw(`${basic.host}/from-config/app:v1`, basicLogin)).toBe(multi.root.bytes.toString())
    // Debug logging on: every request was logged, no token or credential with it.
    expect(result.stdout).toContain('::debug::PUT')
    const printed = result.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'))
    expect(printed.join('\n')).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./)
    expect(printed.join('\n')).not.toContain(pusher.password)
    expect(printed.join('\n')).not.toContain(auth(basicLogin))
  })

  test('a credential helper on PATH answers for its host', async () => {
    const bin = join(scratch, 'helper-bin')
    const asked = join(scratch, 'helper-asked')
    await run('mkdir', ['-p', bin])
    const helper = join(bin, 'docker-credential-ocitest')
    await writeFile(
      helper,
      `#!/bin/sh\n[ "$1" = get ] || exit 3\ncat > '${asked}'\nprintf '{"ServerURL":"%s","Username":"${pusher.username}","Secret":"${pusher.password}"}' "$(cat '${asked}')"\n`
    )
    await chmod(helper, 0o755)
    const config = await dockerConfig('helper', { credHelpers: { [tok.host]: 'ocitest' } })
    const result = await runAction(
      { srcRef: `${open.host}/app:v1`, destRef: `${tok.host}/from-helper/app:v1` },
      { DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH ?? ''}` }
    )
    expect(errorLines(result.stdout)).toEqual([])
    expect(await readFile(asked, 'utf8')).toBe(tok.host)
    expect(result.stdout).toContain(`::add-mask::${pusher.password}`)
    expect(await skopeoRaw(`${tok.host}/from-helper/app:v1`, pusher)).toBe(multi.root.bytes.toString())
  })

  test('a credsStore helper that is not installed: one error naming it and the host', async () => {
    const config = await dockerConfig('missing-helper', { credsStore: 'not-installed-here' })
    const result = await runAction({ srcRef: `${open.host}/app:v1`, destRef: `${tok.host}/nohelper/app:v1` }, { DOCKER_CONFIG: config })
    expect(result.exitCode).toBe(1)
    expect(errorLines(result.stdout)).toEqual([
      expect.stringMatching(
        new RegExp(
          `credentials for ${open.host.replace(/\./g, '\\.')}: credential helper docker-credential-not-installed-here is not installed`
        )
      )
    ])
  })

  test("Helm's registry config answers for oci:// references only", async () => {
    const helm = join(scratch, 'helm-registry.json')
    await writeFile(helm, JSON.stringify({ auths: { [tok.host]: { auth: auth(pusher) } } }))
    const env = { HELM_REGISTRY_CONFIG: helm, DOCKER_CONFIG: await dockerConfig('none', {}) }
    const withOci = await runAction({ srcRef: `oci://${tok.host}/private/app:v1`, destRef: `oci://${open.host}/charts/app` }, env)
    expect(errorLines(withOci.stdout)).toEqual([])
    expect(await skopeoRaw(`${open.host}/charts/app:v1`)).toBe(multi.root.bytes.toString())
    const without = await runAction({ srcRef: `${tok.host}/private/app:v1`, destRef: `${open.host}/charts/plain` }, env)
    expect(without.exitCode).toBe(1)
    expect(errorLines(without.stdout)[0]).toMatch(/401 UNAUTHORIZED/)
  })

  test('an identitytoken in the Docker config logs in through OAuth2', async () => {
    tokens.requests.length = 0
    const config = await dockerConfig('identity', { auths: { [tok.host]: { auth: '', identitytoken: pusher.refreshToken } } })
    const result = await runAction({ srcRef: `${open.host}/app:v1`, destRef: `${tok.host}/identity/app:v1` }, { DOCKER_CONFIG: config })
    expect(errorLines(result.stdout)).toEqual([])
    expect(tokens.requests.some((r) => r.method === 'POST' && r.user === 'pusher')).toBe(true)
    expect(result.stdout).toContain(`::add-mask::${pusher.refreshToken}`)
  })
})

describe('TLS', () => {
  test('an untrusted certificate is refused with a hint naming caCert', async () => {
    const error = await copy(`${open.host}/app:v1`, `https://${tls.host}/tls/app:v1`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConnectionError)
    expect((error as Error).message).toMatch(/self.signed|DEPTH_ZERO|unable to verify/i)
    expect((error as Error).message).toContain('give its CA in caCert')
  })

  test('caCert (a path, as the action takes it) makes the certificate trusted', async () => {
    const result = await runAction({
      srcRef: `${open.host}/app:v1`,
      destRef: `https://${tls.host}/tls/app:ca`,
      caCert: serverCert.certFile
    })
    expect(errorLines(result.stdout)).toEqual([])
    expect(await skopeoRaw(`${tls.host}/tls/app:ca`)).toBe(multi.root.bytes.toString())
  })

  test('caCert as PEM text, in the engine', async () => {
    await copy(`${open.host}/app:v1`, `https://${tls.host}/tls/app:pem`, { tls: { caCert: serverCert.cert } })
    expect(await skopeoRaw(`${tls.host}/tls/app:pem`)).toBe(multi.root.bytes.toString())
  })

  test('insecureSkipTLSVerify accepts it, with a warning', async () => {
    const result = await runAction({
      srcRef: `${open.host}/app:v1`,
      destRef: `https://${tls.host}/tls/app:insecure`,
      insecureSkipTLSVerify: 'true'
    })
    expect(errorLines(result.stdout)).toEqual([])
    expect(result.stdout.split('\n').filter((l) => l.startsWith('::warning::') && l.includes('insecureSkipTLSVerify'))).toHaveLength(1)
    expect(await skopeoRaw(`${tls.host}/tls/app:insecure`)).toBe(multi.root.bytes.toString())
  })

  test('plain HTTP spoken to a TLS registry, and TLS to a plain one, are told apart', async () => {
    const toPlain = await copy(`https://${open.host}/app:v1`, `${open.host}/x/app:v1`).catch((e: unknown) => e)
    expect((toPlain as Error).message).toContain('plainHttp: true')
  })
})
