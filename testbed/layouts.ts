/** Archives and layouts exported with skopeo, for the tests (umoci's layouts are in umoci.ts). */
import { join } from 'node:path'
import { run } from './tools.js'

/** `skopeo copy` of a registry image (all platforms) to a transport: `oci:DIR:tag`, `oci-archive:FILE:tag`, `docker-archive:FILE:name:tag`. */
export async function skopeoExport(ref: string, destination: string): Promise<void> {
  await run('skopeo', [
    'copy',
    '--quiet',
    '--src-tls-verify=false',
    ...(destination.startsWith('docker-archive:') ? [] : ['--all']),
    `docker://${ref}`,
    destination
  ])
}

export function layoutBlob(dir: string, digest: string): string {
  return join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length))
}
