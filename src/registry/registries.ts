/**
 * Opens repositories: one {@link RegistryClient} per registry and role, all sharing one bounded
 * keep-alive connection pool.
 */
import { Agent } from 'undici'
import type { CredentialStore, Role } from '../auth/credentials.js'
import { RegistryClient } from '../http/client.js'
import type { Logger } from '../log.js'
import { registryOrigin, type Reference } from '../reference.js'
import { RegistryRepository } from './repository.js'

export interface RegistriesOptions {
  credentials: CredentialStore
  /** Plain HTTP for every registry (loopback registries use it anyway). */
  plainHttp: boolean
  logger: Logger
  /** Connections per origin. */
  connections?: number
}

export class Registries {
  private readonly agent: Agent
  private readonly clients = new Map<string, Promise<RegistryClient>>()

  constructor(private readonly options: RegistriesOptions) {
    this.agent = new Agent({
      connections: options.connections ?? 8,
      keepAliveTimeout: 30_000,
      headersTimeout: 120_000,
      bodyTimeout: 300_000
    })
  }

  async repository(ref: Reference, role: Role): Promise<RegistryRepository> {
    return new RegistryRepository(ref.registry, ref.repository, await this.client(ref, role))
  }

  private client(ref: Reference, role: Role): Promise<RegistryClient> {
    const origin = registryOrigin(ref, this.options.plainHttp)
    const key = `${role} ${origin}`
    let client = this.clients.get(key)
    if (!client) {
      client = this.options.credentials
        .get(ref.registry, role)
        .then(
          (credentials) =>
            new RegistryClient({ origin, registry: ref.registry, credentials, dispatcher: this.agent, logger: this.options.logger })
        )
      this.clients.set(key, client)
    }
    return client
  }

  /** Closes every pooled connection, so the process can exit. */
  close(): Promise<void> {
    return this.agent.close()
  }
}
