/**
 * Where credentials for a registry come from. The engine asks a {@link CredentialStore} per
 * registry and role; the action decides what answers (inputs today; Docker and Helm config, and
 * the workflow token, chain in behind them).
 */

export interface Credentials {
  username: string
  password: string
}

/** The source is read with source credentials, destinations are written with destination ones. */
export type Role = 'source' | 'destination'

export interface CredentialStore {
  /** Credentials for `registry` (as in references: `ghcr.io`, `localhost:5000`), or undefined. */
  get(registry: string, role: Role): Promise<Credentials | undefined>
}

export interface CredentialEntry {
  registry: string
  role: Role
  credentials: Credentials
}

/** A fixed list of entries; the first that matches registry and role wins. */
export class StaticCredentials implements CredentialStore {
  constructor(private readonly entries: readonly CredentialEntry[]) {}

  get(registry: string, role: Role): Promise<Credentials | undefined> {
    return Promise.resolve(this.entries.find((e) => e.registry === registry && e.role === role)?.credentials)
  }
}

export const noCredentials: CredentialStore = { get: () => Promise.resolve(undefined) }
