/**
 * CNCF distribution (`docker-registry`) started on a free loopback port with temporary storage,
 * anonymous or with htpasswd (bcrypt) auth, stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from './tools.js'

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as used in references. */
  host: string
  port: number
  /** Basic credentials when started with htpasswd auth. */
  credentials?: { username: string; password: string }
  /**
   * The requests the registry logged since the last {@link TestRegistry.clearAccessLog} (with
   * `accessLog`), once its log has been quiet for a moment: lines reach us after the responses.
   */
  accessLog(): Promise<AccessLogEntry[]>
  clearAccessLog(): void
  /** The storage driver's root directory (`storage.filesystem.rootdirectory`): `docker/registry/v2/…` below it. */
  storage: string
  stop(): Promise<void>
}

export interface RegistryOptions {
  htpasswd?: { username: string; password: string }
  /** Token auth: the realm, service and issuer of a token server, and the certificate that signs its tokens. */
  token?: { realm: string; service: string; issuer: string; rootCertFile: string }
  /** Serve HTTPS with this certificate and key (files). */
  tls?: { certFile: string; keyFile: string }
  /** Listen on [::1] instead of 127.0.0.1. */
  ipv6?: boolean
  /** Keep the registry's own access log (one line per request), read with {@link TestRegistry.accessLog}. */
  accessLog?: boolean
  /**
   * Store into this directory, left in place when the registry stops (a mindthegap bundle is such
   * a directory tarred); else a temporary one, removed on stop.
   */
  storageDir?: string
}

/** One request as the registry's access log has it. */
export interface AccessLogEntry {
  method: string
  path: string
  status: number
}

export async function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, address, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'oci-push-registry-'))
  const port = await freePort(options.ipv6 ? '::1' : '127.0.0.1')
  const host = options.ipv6 ? `[::1]:${port}` : `127.0.0.1:${port}`
  const storage = options.storageDir ?? join(dir, 'data')
  let auth = ''
  if (options.htpasswd) {
    const { username, password } = options.htpasswd
    const entry = await run('htpasswd', ['-Bbn', username, password])
    await writeFile(join(dir, 'htpasswd'), entry)
    auth = `auth:\n  htpasswd:\n    realm: oci-push-test\n    path: ${join(dir, 'htpasswd')}\n`
  }
  if (options.token) {
    const { realm, service, issuer, rootCertFile } = options.token
    auth = `auth:\n  token:\n    realm: "${realm}"\n    service: "${service}"\n    issuer: "${issuer}"\n    rootcertbundle: "${rootCertFile}"\n`
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    `    disabled: ${options.accessLog ? 'false' : 'true'}`,
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: "${host}"`,
    '  secret: oci-push-test-secret',
    ...(options.tls ? ['  tls:', `    certificate: "${options.tls.certFile}"`, `    key: "${options.tls.keyFile}"`] : []),
    // Foreign layers (referenced by URL, never uploaded) are refused unless their URLs are allowed.
    'validation:',
    '  manifests:',
    '    urls:',
    '      allow:',
    "        - '^https?://'",
    auth
  ].join('\n')
  await writeFile(join(dir, 'config.yml'), config)

  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', options.accessLog ? 'pipe' : 'ignore', 'ignore']
  })
  const log = accessLogOf(child)
  await waitUntilServing(child, host, options.tls ? 'https' : 'http')
  log.clear()
  return {
    host,
    port,
    accessLog: async () => {
      await log.settled()
      return [...log.entries]
    },
    clearAccessLog: () => log.clear(),
    storage,
    ...(options.htpasswd ? { credentials: options.htpasswd } : {}),
    stop: async () => {
      await stopProcess(child)
      await rm(dir, { recursive: true, force: true })
    }
  }
}

async function waitUntilServing(child: ChildProcess, host: string, scheme: 'http' | 'https'): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode} before serving on ${host}`)
    try {
      if (scheme === 'https') {
        // fetch would refuse the self-signed certificate: a TCP connect tells that it listens.
        if (await listening(host)) return
      } else {
        const res = await fetch(`http://${host}/v2/`)
        await res.arrayBuffer()
        if (res.status === 200 || res.status === 401) return
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await stopProcess(child)
  throw new Error(`docker-registry did not serve on ${host} within 10 s`)
}

function listening(host: string): Promise<boolean> {
  const port = Number(host.slice(host.lastIndexOf(':') + 1))
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/**
 * The access log distribution writes on stdout, Apache style (PEERS): `… "HEAD /v2/a/manifests/v1
 * HTTP/1.1" 200 …`, parsed line by line as it comes.
 */
function accessLogOf(child: ChildProcess): { entries: AccessLogEntry[]; clear(): void; settled(): Promise<void> } {
  const entries: AccessLogEntry[] = []
  let rest = ''
  let last = Date.now()
  child.stdout?.setEncoding('utf8')
  child.stdout?.on('data', (chunk: string) => {
    last = Date.now()
    const lines = (rest + chunk).split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) {
      const match = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3})/.exec(line)
      if (match) entries.push({ method: match[1], path: match[2], status: Number(match[3]) })
    }
  })
  // Quiet for 150 ms (at most 3 s in all): every line of the requests made so far has come in.
  const settled = async (): Promise<void> => {
    const until = Date.now() + 3000
    do await new Promise((resolve) => setTimeout(resolve, 50))
    while (Date.now() - last < 150 && Date.now() < until)
  }
  return { entries, clear: () => void entries.splice(0), settled }
}
