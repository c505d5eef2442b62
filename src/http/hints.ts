/**
 * What to tell the user when a registry refuses a request or cannot be reached: the input to set,
 * on the side that failed, in the words of the registry they are using (PEERS "Hosted registries").
 */
import type { Role } from '../auth/credentials.js'
import type { RegistryErrorDetail } from '../errors.js'
import { DOCKER_HUB } from '../reference.js'
import { param, phrase } from '../words.js'

export interface HintContext {
  registry: string
  role: Role
  /** Where the credentials came from (`the username input`, a Docker config), when there were any. */
  credentials?: string
  /** The `error` parameter of the 401's Bearer challenge (`insufficient_scope`). */
  challengeError?: string
  /** A 429 whose limit is spent for a while (`RateLimit-Remaining: 0`, or a long `Retry-After`). */
  limitSpent?: boolean
  /** When the registry says to try again (`Retry-After`), in milliseconds. */
  retryAfterMs?: number
}

/** ` (it resets in about 2 h 5 min)` from a Retry-After, or nothing. */
function resetsIn(context: HintContext): string {
  const ms = context.retryAfterMs
  if (ms === undefined) return ''
  const minutes = Math.ceil(ms / 60_000)
  const when = minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`
  return `; it resets in about ${when}`
}

const GHCR = 'ghcr.io'
const GHCR_WRITE =
  'the workflow token needs `permissions: packages: write` (and, for an organisation\'s package, the repository needs write access to the package under "Manage Actions access")'

function loginHint(context: HintContext): string {
  const inputs =
    context.role === 'source' ? `${param('srcUsername')} and ${param('srcPassword')}` : `${param('username')} and ${param('password')}`
  if (context.registry === GHCR)
    return `${GHCR} needs credentials: leave ${param('githubToken')} at its default (the workflow token) or set ${inputs}`
  return `${context.registry} needs credentials: set ${inputs}, or ${phrase('login-first')}`
}

/** A hint for a refused request, or undefined when the registry's own words say enough. */
export function registryHint(status: number, details: readonly RegistryErrorDetail[], context: HintContext): string | undefined {
  const codes = new Set(details.map((d) => d.code.toUpperCase()))
  const ghcrWrite = context.registry === GHCR && context.role === 'destination'
  if (status === 429 || codes.has('TOOMANYREQUESTS')) {
    if (context.registry === DOCKER_HUB || context.limitSpent) {
      const whose = context.registry === DOCKER_HUB ? "Docker Hub's pull limit" : `the pull limit of ${context.registry}`
      return context.credentials
        ? `${whose} for this account is reached${resetsIn(context)}; wait, or use an account with a higher limit`
        : `${whose} for anonymous users is reached${resetsIn(context)}: log in to raise it (${param('username')} and ${param('password')}, or ${phrase('login-first')})`
    }
    return 'the registry is limiting the rate of requests; try again later'
  }
  if (status === 401) {
    if (!context.credentials) return loginHint(context)
    if (context.challengeError === 'insufficient_scope') {
      return `the credentials from ${context.credentials} do not grant ${context.role === 'source' ? 'pull' : 'push'} access to this repository${ghcrWrite ? `; ${GHCR_WRITE}` : ''}`
    }
    return `${context.registry} refused the credentials from ${context.credentials}${ghcrWrite ? `; ${GHCR_WRITE}` : ''}`
  }
  if (status === 403) {
    if (ghcrWrite) return GHCR_WRITE
    if (context.registry === GHCR) return 'the workflow token needs `permissions: packages: read` and access to the package'
    return context.credentials
      ? `the credentials for ${context.registry} from ${context.credentials} lack permission for this repository`
      : `${context.registry} refused anonymous access: ${loginHint(context).replace(/^.*needs credentials: /, '')}`
  }
  if (status === 404 && codes.has('NAME_UNKNOWN')) {
    return context.role === 'destination'
      ? 'check the repository name; some registries (Amazon ECR) need the repository created first'
      : 'not found: check the repository name'
  }
  if (status === 404 && codes.has('MANIFEST_UNKNOWN')) return 'not found: check that the tag or digest exists'
  if (codes.has('TAG_INVALID')) return 'the registry refuses to move this tag (immutable tags, as on Amazon ECR): push a new tag instead'
  return undefined
}

const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID'
])

/** A hint for a connection that failed with `code` (`ENOTFOUND`, a TLS code) and `message`. */
export function connectionHint(code: string | undefined, message: string, url: URL): string | undefined {
  const host = url.hostname
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host ${host} could not be resolved: check the registry name`
  if (code === 'ECONNREFUSED') return `nothing accepted the connection on ${url.host}: check the host and port`
  if (code && CERTIFICATE_CODES.has(code)) {
    return `the TLS certificate of ${host} is not trusted: give its CA in ${param('caCert')}, or set ${param('insecureSkipTLSVerify', 'true')}`
  }
  if (
    url.protocol === 'https:' &&
    (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(message))
  ) {
    return `${url.host} does not speak TLS: if it is a plain-HTTP registry, set ${param('plainHttp', 'true')} or write the reference with http://`
  }
  return undefined
}
