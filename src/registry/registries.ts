/**
 * Opens repositories: one {@link RegistryClient} per registry and role (each with its own
 * credentials), all sharing one bounded keep-alive connection pool with the TLS settings given.
 */
import { rootCertificates } from 'node:tls'
import { Agent } from '../http/agent.js'
import { secretsOf, type Credentials, type CredentialStore, type Role } from '../auth/credentials.js'
import { RegistryClient } from '../http/client.js'
import { OriginPings } from '../http/origin-state.js'
import { DEFAULT_CONCURRENCY, smallBlobsAtOnce } from '../concurrency.js'
import type { RetryPolicy } from '../retry.js'
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
  /** Blob transfers in flight at once; the connection pool is sized from it. */
  concurrency?: number
  /** Copies running side by side (mirror pairs), each with `concurrency` blobs in flight. */
  copiesAtOnce?: number
  retry?: RetryPolicy
}

/**
 * Connections per origin for `copies` copies at once (mirror pairs side by side), each with
 * `concurrency` large blob transfers and the small ones beside them ({@link smallBlobsAtOnce}). A
 * streamed copy holds a GET on the source and a PUT on the destination at once, and both may be
 * the same origin (a refused mount): two per transfer, plus room for manifests and HEADs, so no
 * setting can deadlock and no blob waits in the pool's queue.
 */
export function connectionsFor(concurrency: number, copies = 1): number {
  return 2 * copies * (concurrency + smallBlobsAtOnce(concurrency)) + 2
}

export class Registries {
  private readonly agent: Agent
  private readonly clients = new Map<string, Promise<RegistryClient>>()
  private readonly pings = new OriginPings()
  private readonly credentialLines = new Set<string>()

  constructor(private readonly options: RegistriesOptions) {
    const tls = options.tls ?? {}
    this.agent = new Agent({
      connections: connectionsFor(options.concurrency ?? DEFAULT_CONCURRENCY, options.copiesAtOnce ?? 1),
      keepAliveTimeout: 30_000,
      headersTimeout: 120_000,
      // Idle time between chunks, not a cap on a transfer: multi-GB blobs take as long as they take.
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
        this.logCredentials(ref.registry, role, credentials)
        const retry = this.options.retry ? { retry: this.options.retry } : {}
        return new RegistryClient({
          origin,
          registry: ref.registry,
          role,
          credentials,
          dispatcher: this.agent,
          logger,
          pings: this.pings,
          ...retry
        })
      })
      this.clients.set(key, client)
    }
    return client
  }

  /** Where a registry's credentials came from, once per registry and side, at debug level; never the secret. */
  private logCredentials(registry: string, role: Role, credentials: Credentials | undefined): void {
    const from = credentials
      ? `${credentials.origin ?? 'the inputs'}${credentials.username ? ` (user ${credentials.username})` : ''}`
      : 'none found, anonymous'
    const line = `Credentials for ${registry} as the ${role}: ${from}`
    if (this.credentialLines.has(line)) return
    this.credentialLines.add(line)
    this.options.logger.debug(line)
  }

  /** Closes every pooled connection, so the process can exit. */
  close(): Promise<void> {
    return this.agent.close()
  }
}
