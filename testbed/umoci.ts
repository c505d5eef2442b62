/** Images built with umoci (a real OCI tool, which writes manifests without `mediaType`). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from './tools.js'

/**
 * Builds an image of `layers` layers with umoci and pushes it with skopeo to
 * `host/repository:tag` on a plain-HTTP registry.
 */
export async function pushUmociImage(host: string, repository: string, tag: string, layers: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'oci-push-umoci-'))
  try {
    const layout = join(dir, 'layout')
    await run('umoci', ['init', '--layout', layout])
    await run('umoci', ['new', '--image', `${layout}:${tag}`])
    for (let i = 0; i < layers; i++) {
      const file = join(dir, `file${i}.txt`)
      await writeFile(file, `layer ${i} of ${repository}:${tag}\n`.repeat(100 * (i + 1)))
      await run('umoci', ['insert', '--image', `${layout}:${tag}`, file, `/data/file${i}.txt`])
    }
    await run('umoci', [
      'config',
      '--image',
      `${layout}:${tag}`,
      '--os',
      'linux',
      '--architecture',
      'amd64',
      '--created',
      '2024-01-01T00:00:00Z'
    ])
    await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${host}/${repository}:${tag}`])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
