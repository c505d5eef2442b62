/** Manifest lists built by buildah (vfs storage, as root), from images already in a registry. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from './tools.js'

/**
 * Creates a list from `images` (full references on plain-HTTP registries) and pushes it with
 * every child to `destination`: `v2s2` writes a Docker manifest list (children converted), `oci`
 * an OCI index.
 */
export async function pushBuildahList(images: readonly string[], destination: string, format: 'oci' | 'v2s2'): Promise<void> {
  return buildahList(images, `docker://${destination}`, format)
}

/** The same list written to any transport buildah knows (`oci-archive:FILE:tag`, `oci:DIR:tag`). */
export async function buildahList(images: readonly string[], destination: string, format: 'oci' | 'v2s2'): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'oci-push-buildah-'))
  const buildah = (...args: string[]) =>
    run('buildah', ['--storage-driver', 'vfs', '--root', join(dir, 'root'), '--runroot', join(dir, 'run'), ...args])
  try {
    await buildah('manifest', 'create', 'list')
    for (const image of images) await buildah('manifest', 'add', '--tls-verify=false', 'list', `docker://${image}`)
    await buildah('manifest', 'push', '--all', '--format', format, '--tls-verify=false', 'list', destination)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
