/** Images built with umoci (a real OCI tool, which writes manifests without `mediaType`). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from './tools.js'

/** A umoci layout at `dir` with one image per tag, each of `layers` layers of its own. */
export async function umociLayout(dir: string, tags: readonly string[], layers = 1): Promise<void> {
  await run('umoci', ['init', '--layout', dir])
  for (const tag of tags) {
    await run('umoci', ['new', '--image', `${dir}:${tag}`])
    for (let i = 0; i < layers; i++) {
      const file = `${dir}.${tag}.${i}.txt`
      await writeFile(file, `layer ${i} of ${tag}\n`.repeat(100 * (i + 1)))
      await run('umoci', ['insert', '--image', `${dir}:${tag}`, file, `/data/${tag}-${i}.txt`])
    }
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

/** Builds an image of `layers` layers with umoci and pushes it with skopeo to `host/repository:tag` (plain HTTP). */
export async function pushUmociImage(host: string, repository: string, tag: string, layers: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'oci-push-umoci-'))
  try {
    const layout = join(dir, 'layout')
    await umociLayout(layout, [tag], layers)
    await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${host}/${repository}:${tag}`])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
