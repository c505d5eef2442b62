/**
 * Opens repositories: one {@link RegistryClient} per registry and role (each with its own
 * credentials), all sharing one bounded keep-alive connection pool with the TLS settings given.
 */
import { rootCertificates } from 'node:tls'
import { Agent } from 'undici'
import { secretsOf, type CredentialStore, type Role } from '../auth/credentials.js'
import { RegistryClient } from '../http/client.js'
import type { Logger } from '../log.js'
import { registryOrigin, type Reference } from '../reference.js'
import { RegistryRepository } from './repository.js'

export interface TlsOptions {
  /** PEM certificates trusted in addition to the system roots. */
  caCert?: string
  /** Accept any certificate (both registries). */
  insecureSkipVerify?: boolean
}

export interface RegistriesOptions {
  credentials: CredentialStore
  /** Plain HTTP for every registry (loopback registries use it anyway). */
  plainHttp: boolean
  logger: Logger
  tls?: TlsOptions
  /** Connections per origin. */
  connections?: number
}

export class Registries {
  private readonly agent: Agent
  private readonly clients = new Map<string, Promise<RegistryClient>>()

  constructor(private readonly options: RegistriesOptions) {
    const tls = options.tls ?? {}
    this.agent = new Agent({
      connections: options.connections ?? 8,
      keepAliveTimeout: 30_000,
      headersTimeout: 120_000,
      bodyTimeout: 300_000,
      connect: {
        // `ca` replaces Node's roots: keep them, and add the user's.
        ...(tls.caCert ? { ca: [...rootCertificates, tls.caCert] } : {}),
        ...(tls.insecureSkipVerify ? { rejectUnauthorized: false } : {})
      }
    })
  }

  async repository(ref: Reference, role: Role): Promise<RegistryRepository> {
    return new RegistryRepository(ref.registry, ref.repository, role, await this.client(ref, role))
  }

  private client(ref: Reference, role: Role): Promise<RegistryClient> {
    const origin = registryOrigin(ref, this.options.plainHttp)
    // `oci://` references may find other credentials (Helm's config) than plain ones on the same host.
    const key = `${role} ${origin} ${ref.scheme === 'oci' ? 'oci' : ''}`
    let client = this.clients.get(key)
    if (!client) {
      const { logger } = this.options
      client = this.options.credentials.get(ref, role).then((credentials) => {
        for (const secret of credentials ? secretsOf(credentials) : []) logger.secret(secret)
        return new RegistryClient({ origin, registry: ref.registry, role, credentials, dispatcher: this.agent, logger })
      })
      this.clients.set(key, client)
    }
    return client
  }

  /** Closes every pooled connection, so the process can exit. */
  close(): Promise<void> {
    return this.agent.close()
  }
}
