/**
 * Credentials from a Docker config file (`~/.docker/config.json`, `$DOCKER_CONFIG/config.json`),
 * the file docker/login-action and cloud login actions write; Helm's registry config has the
 * same format. Per registry: `credHelpers[host]`, then `credsStore`, then `auths[host]` (docker/cli
 * configfile: `auth` is base64 `user:pass`; `identitytoken` is an OAuth2 refresh token).
 */
import { readFile } from 'node:fs/promises'
import { CredentialError } from '../errors.js'
import { DOCKER_HUB } from '../reference.js'
import type { Credentials, CredentialStore, CredentialTarget } from './credentials.js'
import type { HelperRunner } from './credential-helper.js'

export interface DockerAuthEntry {
  auth?: string
  username?: string
  password?: string
  identitytoken?: string
}

export interface DockerConfigFile {
  auths?: Record<string, DockerAuthEntry>
  credHelpers?: Record<string, string>
  credsStore?: string
}

/** The key Docker stores Docker Hub under, and the server address its helpers are asked for. */
export const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/'
const DOCKER_HUB_HOSTS = new Set(['index.docker.io', 'docker.io', 'registry-1.docker.io'])
const MAX_CONFIG_BYTES = 4 * 1024 * 1024

/** A config key as docker/cli compares them: scheme, path and trailing slash dropped, lowercase. */
export function normaliseHost(key: string): string {
  const withoutScheme = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
  const slash = withoutScheme.indexOf('/')
  return (slash >= 0 ? withoutScheme.slice(0, slash) : withoutScheme).toLowerCase()
}

function matchesRegistry(key: string, registry: string): boolean {
  const host = normaliseHost(key)
  return registry === DOCKER_HUB ? DOCKER_HUB_HOSTS.has(host) : host === registry
}

/** The server address a credential helper is asked about (`https://index.docker.io/v1/` for Docker Hub). */
export function serverAddress(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_SERVER : registry
}

function entryFor<T>(map: Record<string, T> | undefined, registry: string): T | undefined {
  if (!map) return undefined
  const key = Object.keys(map).find((k) => matchesRegistry(k, registry))
  return key === undefined ? undefined : map[key]
}

/** The helper to ask for `registry`: its `credHelpers` entry, else `credsStore`. */
export function helperFor(config: DockerConfigFile, registry: string): string | undefined {
  return entryFor(config.credHelpers, registry) ?? (config.credsStore || undefined)
}

/** Credentials from the `auths` entry for `registry`, or undefined when it has none (or an empty one). */
export function authsEntry(config: DockerConfigFile, registry: string, origin: string): Credentials | undefined {
  const entry = entryFor(config.auths, registry)
  if (!entry) return undefined
  if (entry.identitytoken) return { username: entry.username ?? '', password: '', identityToken: entry.identitytoken, origin }
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon <= 0) throw new CredentialError(registry, `the "auth" entry in ${origin} is not base64 of user:password`)
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), origin }
  }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password, origin }
  return undefined
}

export interface DockerConfigOptions {
  /** `Docker config` or `Helm registry config`, for messages. */
  kind: string
  path: string
  runHelper: HelperRunner
  /** Helm's config answers only for references written `oci://`. */
  ociOnly?: boolean
}

/** A config file read once, on first use; a missing file has no credentials. */
export class DockerConfigCredentials implements CredentialStore {
  private config: Promise<DockerConfigFile | undefined> | undefined

  constructor(private readonly options: DockerConfigOptions) {}

  async get(target: CredentialTarget): Promise<Credentials | undefined> {
    if (this.options.ociOnly && target.scheme !== 'oci') return undefined
    const config = await (this.config ??= this.read(target.registry))
    if (!config) return undefined
    const origin = `${this.options.kind} (${this.options.path})`
    const helper = helperFor(config, target.registry)
    if (helper) {
      const fromHelper = await this.options.runHelper(helper, serverAddress(target.registry), target.registry)
      if (fromHelper) return { ...fromHelper, origin: `credential helper docker-credential-${helper}` }
    }
    return authsEntry(config, target.registry, origin)
  }

  private async read(registry: string): Promise<DockerConfigFile | undefined> {
    let text: string
    try {
      text = await readFile(this.options.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new CredentialError(registry, `cannot read the ${this.options.kind} ${this.options.path}: ${(error as Error).message}`)
    }
    if (text.length > MAX_CONFIG_BYTES) throw new CredentialError(registry, `the ${this.options.kind} ${this.options.path} is over 4 MiB`)
    try {
      const parsed = JSON.parse(text) as unknown
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object')
      return parsed
    } catch (error) {
      throw new CredentialError(registry, `the ${this.options.kind} ${this.options.path} is not valid JSON (${(error as Error).message})`)
    }
  }
}
