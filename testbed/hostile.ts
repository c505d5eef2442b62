/**
 * The hostile (or strict) registry of issue 21, played by the recording proxy in front of a real
 * `docker-registry`: tag lists, error bodies and headers chosen by the test, and the checks that
 * say what got through — requests outside a repository, lines a runner reads as commands.
 */
import type { AccessLogEntry } from './registry.js'
import { registryError, type CannedResponse, type RecordedRequest } from './proxy.js'

/** `GET /v2/<repository>/tags/list` (any query), the request a tag list answers. */
export function isTagList(request: RecordedRequest, repository: string): boolean {
  return request.method === 'GET' && request.path.split('?')[0] === `/v2/${repository}/tags/list`
}

/** The `n` a tag-list request asked for, or undefined without one. */
export function pageSizeOf(request: RecordedRequest): number | undefined {
  const n = new URL(request.path, 'http://proxy').searchParams.get('n')
  return n === null ? undefined : Number(n)
}

/** A tag list as a registry answers it, holding whatever names the test gives, with a `Link` when given. */
export function tagListAnswer(repository: string, tags: readonly string[], link?: string): CannedResponse {
  const body = JSON.stringify({ name: repository, tags })
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(link ? { link } : {}) },
    body
  }
}

/** distribution 3's answer to `n` above its `tags.maxtags`. */
export const PAGINATION_REFUSED = registryError(400, 'PAGINATION_NUMBER_INVALID', 'invalid number of results requested')

/** Workflow commands `@actions/core` writes for us (none with properties): anything else on stdout was injected. */
const OUR_COMMANDS = new Set(['group', 'endgroup', 'debug', 'warning', 'notice', 'error', 'add-mask'])

/**
 * Lines of a step's stdout that a runner would read as a command we did not write: another
 * command (`set-output`, `stop-commands`, `add-path`), one with properties (`::error title=…::`),
 * or the old `##[` / `##vso[` forms, which the runner finds anywhere in a line that is not a
 * `::` command. The runner trims blanks before it looks.
 */
export function injectedCommands(stdout: string): string[] {
  return stdout.split(/\r?\n/).filter((raw) => {
    const line = raw.trimStart()
    if (!line.startsWith('::')) return /##(\[|vso\[)/.test(line)
    const match = /^::([A-Za-z-]+)( [^:]*)?::/.exec(line)
    return !match || !OUR_COMMANDS.has(match[1]) || match[2] !== undefined
  })
}

/** Requests the registry logged outside `repository` (the `/v2/` ping aside): none may be. */
export function outsideRepository(log: readonly AccessLogEntry[], repository: string): AccessLogEntry[] {
  return log.filter((entry) => {
    const path = entry.path.split('?')[0]
    return path !== '/v2/' && path !== '/v2' && !path.startsWith(`/v2/${repository}/`)
  })
}

/** Requests that write (anything but GET and HEAD). */
export function writes(log: readonly AccessLogEntry[]): AccessLogEntry[] {
  return log.filter((entry) => entry.method !== 'GET' && entry.method !== 'HEAD')
}
