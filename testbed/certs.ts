/** Keys and self-signed certificates made at test time with openssl: nothing secret is committed. */
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from './tools.js'

export interface KeyPair {
  dir: string
  keyFile: string
  certFile: string
  key: string
  cert: string
}

/**
 * An EC P-256 key and a self-signed certificate for it, valid for `127.0.0.1`, `::1` and
 * `localhost`: a TLS server certificate, or the token issuer's signing key (it is its own root).
 */
export async function selfSigned(commonName: string): Promise<KeyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'oci-push-cert-'))
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
    '-keyout',
    keyFile,
    '-out',
    certFile
  ])
  return { dir, keyFile, certFile, key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') }
}
