/** OCI layouts and archives made by the real tools (umoci, skopeo, buildah), for the tests. */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { run } from './tools.js'

/** A umoci layout at `dir` with one small image per tag (each with its own layer). */
export async function umociLayout(dir: string, tags: readonly string[]): Promise<void> {
  await run('umoci', ['init', '--layout', dir])
  for (const tag of tags) {
    await run('umoci', ['new', '--image', `${dir}:${tag}`])
    const file = `${dir}.${tag}.txt`
    await writeFile(file, `content of ${tag}\n`.repeat(200))
    await run('umoci', ['insert', '--image', `${dir}:${tag}`, file, `/data/${tag}.txt`])
    await run('umoci', [
      'config',
      '--image',
      `${dir}:${tag}`,
      '--os',
      'linux',
      '--architecture',
      'amd64',
      '--created',
      '2024-01-01T00:00:00Z'
    ])
  }
}

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
