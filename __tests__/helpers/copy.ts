/** Runs the copy engine against test registries the way the action wires it. */
import { StaticCredentials, type CredentialEntry, type CredentialStore } from '../../src/auth/credentials.js'
import { copyArtifact, type CopyRequest, type CopyResult } from '../../src/engine/copy-artifact.js'
import type { Logger } from '../../src/log.js'
import { lineReporter } from '../../src/progress.js'
import { parseEndpoint, type Endpoint } from '../../src/endpoint.js'
import { withDefaultTag } from '../../src/reference.js'
import { Stores } from '../../src/stores.js'
import { DEFAULT_CONCURRENCY } from '../../src/concurrency.js'
import { Registries, type TlsOptions } from '../../src/registry/registries.js'
import type { RetryPolicy } from '../../src/retry.js'
import { UNLIMITED } from '../../src/size.js'
import { ACTION_WORDS, inWords } from '../../src/words.js'

export interface CopyOptions {
  credentials?: CredentialEntry[]
  /** Used instead of `credentials` when given (a chain, say). */
  credentialStore?: CredentialStore
  maxArtifactSize?: number
  tls?: TlsOptions
  /** Collects what the engine logs. */
  log?: string[]
  /** Collects what the engine asks to mask. */
  secrets?: string[]
  /** Annotations, platforms, media types, referrers: as the action passes them. */
  transform?: Pick<CopyRequest, 'annotations' | 'platforms' | 'ociMediaTypes' | 'referrers'>
  retry?: RetryPolicy
  concurrency?: number
}

/** Retries as the engine does them, with waits short enough for tests. */
export const FAST_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 10, maxDelayMs: 50, totalMs: 10_000, retryAfterCapMs: 200 }

export async function copy(src: string, dest: string | string[], options: CopyOptions = {}): Promise<CopyResult> {
  // As the action shows them: parameters named as its inputs.
  const record = (message: string) => options.log?.push(inWords(message, ACTION_WORDS))
  const logger: Logger = { debug: record, info: record, warning: record, notice: record, secret: (value) => options.secrets?.push(value) }
  const credentials = options.credentialStore ?? new StaticCredentials(options.credentials ?? [])
  const retry = options.retry ?? FAST_RETRY
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
  const registries = new Registries({
    credentials,
    plainHttp: false,
    logger,
    retry,
    concurrency,
    ...(options.tls ? { tls: options.tls } : {})
  })
  try {
    return await copyArtifact(
      new Stores(registries),
      {
        source: withDefaultTagIfRegistry(parseEndpoint(src)),
        destinations: (Array.isArray(dest) ? dest : [dest]).map(parseEndpoint),
        maxArtifactSize: options.maxArtifactSize ?? UNLIMITED,
        retry,
        concurrency,
        ...options.transform
      },
      lineReporter(logger)
    )
  } finally {
    await registries.close()
  }
}

function withDefaultTagIfRegistry(endpoint: Endpoint): Endpoint {
  return endpoint.kind === 'registry' ? { kind: 'registry', reference: withDefaultTag(endpoint.reference) } : endpoint
}
