import { describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseHelperOutput } from '../src/auth/credential-helper.js'
import { CredentialChain, StaticCredentials } from '../src/auth/credentials.js'
import {
  authsEntry,
  DockerConfigCredentials,
  helperFor,
  normaliseHost,
  serverAddress,
  type DockerConfigFile
} from '../src/auth/docker-config.js'
import { configPaths, githubTokenCredentials } from '../src/auth/credential-sources.js'
import { CredentialError } from '../src/errors.js'
import { given } from '../src/words.js'

const b64 = (text: string) => Buffer.from(text).toString('base64')

describe('Docker config host matching (as docker/cli compares keys)', () => {
  test.each([
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['ghcr.io', 'ghcr.io'],
    ['https://ghcr.io', 'ghcr.io'],
    ['http://localhost:5000/', 'localhost:5000'],
    ['Registry.Example.com/v2/', 'registry.example.com']
  ])('%s -> %s', (key, host) => {
    expect(normaliseHost(key)).toBe(host)
  })

  test.each([
    ['Docker Hub under its classic key', { 'https://index.docker.io/v1/': { auth: b64('hub:pw') } }, 'docker.io', 'hub'],
    ['Docker Hub under registry-1', { 'registry-1.docker.io': { auth: b64('hub1:pw') } }, 'docker.io', 'hub1'],
    ['a host with scheme and path in the key', { 'https://ghcr.io/': { auth: b64('gh:pw') } }, 'ghcr.io', 'gh'],
    ['a port must match', { 'localhost:5001': { auth: b64('x:y') } }, 'localhost:5000', undefined],
    ['username and password fields', { 'r.io': { username: 'ru', password: 'rp' } }, 'r.io', 'ru'],
    ['an empty entry (credsStore lists hosts so)', { 'r.io': {} }, 'r.io', undefined]
  ])('auths: %s', (_name, auths, registry, username) => {
    expect(authsEntry({ auths }, registry, 'test')?.username).toBe(username)
  })

  test('auth keeps colons in the password; identitytoken wins over auth', () => {
    expect(authsEntry({ auths: { 'r.io': { auth: b64('u:p:a:ss') } } }, 'r.io', 'o')).toEqual({
      username: 'u',
      password: 'p:a:ss',
      origin: 'o'
    })
    expect(authsEntry({ auths: { 'r.io': { auth: b64('u:p'), identitytoken: 'id' } } }, 'r.io', 'o')).toEqual({
      username: '',
      password: '',
      identityToken: 'id',
      origin: 'o'
    })
  })

  test('an auth that is not user:password is an error naming the file', () => {
    expect(() => authsEntry({ auths: { 'r.io': { auth: b64('nocolon') } } }, 'r.io', 'Docker config (/x)')).toThrow(CredentialError)
    expect(() => authsEntry({ auths: { 'r.io': { auth: b64('nocolon') } } }, 'r.io', 'Docker config (/x)')).toThrow(/Docker config \(\/x\)/)
  })

  test('helpers: credHelpers for the host first, then credsStore', () => {
    const config: DockerConfigFile = { credHelpers: { 'ghcr.io': 'gh', 'https://index.docker.io/v1/': 'hub' }, credsStore: 'desktop' }
    expect(helperFor(config, 'ghcr.io')).toBe('gh')
    expect(helperFor(config, 'docker.io')).toBe('hub')
    expect(helperFor(config, 'r.io')).toBe('desktop')
    expect(helperFor({}, 'r.io')).toBeUndefined()
    expect(serverAddress('docker.io')).toBe('https://index.docker.io/v1/')
    expect(serverAddress('ghcr.io')).toBe('ghcr.io')
  })

  test.each([
    ['user and secret', '{"ServerURL":"r","Username":"u","Secret":"s"}', { username: 'u', password: 's' }],
    ['<token> means an identity token', '{"Username":"<token>","Secret":"rt"}', { username: '', password: '', identityToken: 'rt' }],
    ['no secret: nothing', '{"Username":"u","Secret":""}', undefined]
  ])('helper output: %s', (_name, stdout, expected) => {
    expect(parseHelperOutput(stdout, 'docker-credential-x', 'r')).toEqual(expected)
  })

  test('helper output that is not JSON names the helper', () => {
    expect(() => parseHelperOutput('oops', 'docker-credential-x', 'r')).toThrow(/docker-credential-x did not answer JSON/)
  })
})

describe('where the configs are and who answers first', () => {
  test('paths: DOCKER_CONFIG and HELM_REGISTRY_CONFIG, else under HOME', () => {
    expect(configPaths({ HOME: '/h' })).toEqual({ docker: '/h/.docker/config.json', helm: '/h/.config/helm/registry/config.json' })
    expect(configPaths({ HOME: '/h', DOCKER_CONFIG: '/d', HELM_REGISTRY_CONFIG: '/helm.json' })).toEqual({
      docker: '/d/config.json',
      helm: '/helm.json'
    })
  })

  test('inputs, then Helm (oci:// only), then Docker, then the workflow token for ghcr.io', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-push-chain-'))
    try {
      const helm = join(dir, 'helm.json')
      const docker = join(dir, 'docker.json')
      await writeFile(helm, JSON.stringify({ auths: { 'ghcr.io': { auth: b64('helm:h') }, 'r.io': { auth: b64('helm:h') } } }))
      await writeFile(docker, JSON.stringify({ auths: { 'ghcr.io': { auth: b64('docker:d') }, 'r.io': { auth: b64('docker:d') } } }))
      const noHelper = () => Promise.reject(new Error('no helper expected'))
      const chain = (inputs: StaticCredentials, token: string) =>
        new CredentialChain([
          inputs,
          new DockerConfigCredentials({ kind: 'Helm registry config', path: helm, runHelper: noHelper, ociOnly: true }),
          new DockerConfigCredentials({ kind: 'Docker config', path: docker, runHelper: noHelper }),
          githubTokenCredentials(token, 'octocat')
        ])
      const inputs = new StaticCredentials([{ registry: 'r.io', role: 'destination', credentials: { username: 'input', password: 'i' } }])
      const c = chain(inputs, 'ghs_token')
      expect((await c.get({ registry: 'r.io' }, 'destination'))?.username).toBe('input')
      expect((await c.get({ registry: 'r.io' }, 'source'))?.username).toBe('docker')
      expect((await c.get({ registry: 'r.io', scheme: 'oci' }, 'source'))?.username).toBe('helm')
      expect((await c.get({ registry: 'ghcr.io' }, 'source'))?.username).toBe('docker')
      expect(await c.get({ registry: 'q.io' }, 'source')).toBeUndefined()
      const tokenOnly = new CredentialChain([githubTokenCredentials('ghs_token', 'octocat')])
      expect(await tokenOnly.get({ registry: 'ghcr.io' }, 'destination')).toEqual({
        username: 'octocat',
        password: 'ghs_token',
        origin: given('githubToken')
      })
      expect(await tokenOnly.get({ registry: 'docker.io' }, 'destination')).toBeUndefined()
      expect(await new CredentialChain([githubTokenCredentials('', 'octocat')]).get({ registry: 'ghcr.io' }, 'source')).toBeUndefined()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a config that is not JSON is an error naming the file; a missing one has nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-push-bad-'))
    try {
      const bad = join(dir, 'config.json')
      await writeFile(bad, '{ nope')
      const runHelper = () => Promise.resolve(undefined)
      await expect(new DockerConfigCredentials({ kind: 'Docker config', path: bad, runHelper }).get({ registry: 'r.io' })).rejects.toThrow(
        new RegExp(`Docker config ${bad.replace(/[/.]/g, '\\$&')} is not valid JSON`)
      )
      expect(
        await new DockerConfigCredentials({ kind: 'Docker config', path: join(dir, 'missing.json'), runHelper }).get({ registry: 'r.io' })
      ).toBeUndefined()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
