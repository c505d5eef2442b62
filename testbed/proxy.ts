/**
 * A recording proxy in front of a test registry: every request is recorded before it is
 * forwarded, so a test can assert what a copy did (and did not) ask for. It can also make the
 * registry misbehave, or behave as some do: refuse mounts, serve corrupted blobs, redirect blob
 * downloads to another host.
 */
import { createServer, request as forward, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Transform } from 'node:stream'

export interface RecordedRequest {
  method: string
  path: string
  /** Whether the request carried an Authorization header (its value is never kept). */
  authorization: boolean
  /** Every other header as it arrived on the wire (names lowercase). */
  headers: IncomingHttpHeaders
}

/** What the proxy answers itself instead of forwarding. */
export interface CannedResponse {
  status: number
  headers?: OutgoingHttpHeaders
  body?: string
}

export interface ProxyFaults {
  /** Mount requests reach the registry without `mount`/`from`: it opens a plain upload (202). */
  refuseMounts: boolean
  /** Blob downloads arrive with their first byte changed (same length, other digest). */
  corruptBlobs: boolean
  /** Blob downloads are answered `307` to the same path on this host (a storage host, say). */
  redirectBlobsTo?: string
  /** Answers a request without asking the registry when it returns a response. */
  answer?: (request: RecordedRequest) => CannedResponse | undefined
  /** Changes the registry's response headers before they go back to the client. */
  editResponseHeaders?: (request: RecordedRequest, headers: IncomingHttpHeaders) => void
}

/** A registry error body (distribution-spec "Error Codes"). */
export function registryError(status: number, code: string, message: string): CannedResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errors: [{ code, message }] }) }
}

export interface RecordingProxy {
  /** `127.0.0.1:PORT`: use it in references instead of the registry's host. */
  host: string
  requests: RecordedRequest[]
  faults: ProxyFaults
  /** Forgets what was recorded so far. */
  reset(): void
  stop(): Promise<void>
}

export async function startProxy(upstreamPort: number): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = []
  const faults: ProxyFaults = { refuseMounts: false, corruptBlobs: false }
  const server: Server = createServer((req, res) => {
    const method = req.method ?? ''
    let path = req.url ?? ''
    const { authorization, ...headers } = req.headers
    const recorded: RecordedRequest = { method, path, authorization: authorization !== undefined, headers }
    requests.push(recorded)
    const canned = faults.answer?.(recorded)
    if (canned) {
      req.resume()
      res.writeHead(canned.status, canned.headers).end(canned.body)
      return
    }
    if (faults.redirectBlobsTo && method === 'GET' && path.includes('/blobs/sha256:')) {
      res.writeHead(307, { location: `http://${faults.redirectBlobsTo}${path}` }).end()
      return
    }
    if (faults.refuseMounts && method === 'POST' && path.includes('mount=')) path = path.slice(0, path.indexOf('?'))
    const corrupt = faults.corruptBlobs && method === 'GET' && path.includes('/blobs/sha256:')
    // The Host header goes through unchanged, so the registry's Locations point back at us.
    const upstream = forward({ host: '127.0.0.1', port: upstreamPort, method, path, headers: req.headers }, (up) => {
      faults.editResponseHeaders?.(recorded, up.headers)
      res.writeHead(up.statusCode ?? 502, up.headers)
      if (corrupt && up.statusCode === 200) up.pipe(flipFirstByte()).pipe(res)
      else up.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    host: `127.0.0.1:${port}`,
    requests,
    faults,
    reset: () => {
      requests.splice(0, requests.length)
      faults.refuseMounts = false
      faults.corruptBlobs = false
      delete faults.redirectBlobsTo
      delete faults.answer
      delete faults.editResponseHeaders
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

function flipFirstByte(): Transform {
  let first = true
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (first && chunk.length > 0) {
        chunk = Buffer.from(chunk)
        chunk[0] ^= 0xff
        first = false
      }
      done(null, chunk)
    }
  })
}
