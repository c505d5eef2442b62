/**
 * A recording proxy in front of a test registry: every request is recorded before it is
 * forwarded, so a test can assert what a copy did (and did not) ask for.
 */
import { createServer, request as forward, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  path: string
}

export interface RecordingProxy {
  /** `127.0.0.1:PORT`: use it in references instead of the registry's host. */
  host: string
  requests: RecordedRequest[]
  /** Forgets what was recorded so far. */
  reset(): void
  stop(): Promise<void>
}

export async function startProxy(upstreamPort: number): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = []
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '' })
    // The Host header goes through unchanged, so the registry's Locations point back at us.
    const upstream = forward({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    host: `127.0.0.1:${port}`,
    requests,
    reset: () => requests.splice(0, requests.length),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
