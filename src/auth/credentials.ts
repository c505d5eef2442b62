/**
 * Where credentials for a registry come from. The engine asks a {@link CredentialStore} per
 * registry and role; the action chains the sources DESIGN §6 lists (inputs, Helm and Docker
 * config, the workflow token) in a {@link CredentialChain}, first match wins.
 */
import type { Reference } from '../reference.js'

export interface Credentials {
  username: string
  /** Empty when only an identity token is given. */
  password: string
  /**
   * An OAuth2 refresh token (Docker config `identitytoken`, or a helper's secret for the user
   * `<token>`): exchanged at the token realm, never sent as Basic.
   */
  identityToken?: string
  /** Where they came from, for messages: `the username input`, `Docker config (/home/u/.docker/config.json)`. */
  origin?: string
}

/** The source is read with source credentials, destinations are written with destination ones. */
export type Role = 'source' | 'destination'

/** What a lookup needs to know of the reference: its registry, and whether it was written `oci://`. */
export type CredentialTarget = Pick<Reference, 'registry' | 'scheme'>

export interface CredentialStore {
  /** Credentials for the reference's registry in that role, or undefined. */
  get(target: CredentialTarget, role: Role): Promise<Credentials | undefined>
}

export interface CredentialEntry {
  registry: string
  role: Role
  credentials: Credentials
}

/** A fixed list of entries; the first that matches registry and role wins. */
export class StaticCredentials implements CredentialStore {
  constructor(private readonly entries: readonly CredentialEntry[]) {}

  get(target: CredentialTarget, role: Role): Promise<Credentials | undefined> {
    return Promise.resolve(this.entries.find((e) => e.registry === target.registry && e.role === role)?.credentials)
  }
}

/** Asks each store in turn; the first that has credentials answers. */
export class CredentialChain implements CredentialStore {
  constructor(private readonly stores: readonly CredentialStore[]) {}

  async get(target: CredentialTarget, role: Role): Promise<Credentials | undefined> {
    for (const store of this.stores) {
      const found = await store.get(target, role)
      if (found) return found
    }
    return undefined
  }
}

export const noCredentials: CredentialStore = { get: () => Promise.resolve(undefined) }

/** Every value of a credential that must never reach a log: password, identity token and the Basic value. */
export function secretsOf(credentials: Credentials): string[] {
  const secrets: string[] = []
  if (credentials.password) {
    secrets.push(credentials.password, Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64'))
  }
  if (credentials.identityToken) secrets.push(credentials.identityToken)
  return secrets
}
