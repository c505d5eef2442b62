/**
 * mindthegap bundles made the way mindthegap makes them (`create bundle`): a `docker-registry`
 * serving a fresh storage directory, the artifacts pushed into it, the registry stopped, an
 * `images.yaml` saying what was asked for written beside the tree, and the directory tarred.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pushFixture, type Fixture } from './fixtures.js'
import { startRegistry } from './registry.js'
import type { TarItem } from './tarballs.js'
import { run } from './tools.js'

export interface BundledArtifact {
  repository: string
  tag: string
  fixture: Fixture
}

/**
 * A registry storage directory at `storage` holding `artifacts`, with mindthegap's `images.yaml`
 * (grouped by source registry, tags listed per image) beside `docker/`.
 */
export async function mindthegapStorage(storage: string, artifacts: readonly BundledArtifact[]): Promise<void> {
  const registry = await startRegistry({ storageDir: storage })
  try {
    for (const { repository, tag, fixture } of artifacts) await pushFixture(registry.host, repository, fixture, tag)
  } finally {
    await registry.stop()
  }
  const byRepository = new Map<string, string[]>()
  for (const { repository, tag } of artifacts) byRepository.set(repository, [...(byRepository.get(repository) ?? []), tag])
  const yaml = ['docker.io:', '  images:']
  for (const [repository, tags] of byRepository) yaml.push(`    ${repository}:`, ...tags.map((tag) => `      - "${tag}"`))
  await writeFile(join(storage, 'images.yaml'), `${yaml.join('\n')}\n`)
}

/** The storage directory tarred with the system `tar` as mindthegap's archiver lays it out: its entries at the top. */
export async function tarStorage(storage: string, file: string, options: { gzip?: boolean; config?: boolean } = {}): Promise<void> {
  const entries = options.config === false ? ['docker'] : ['docker', 'images.yaml']
  await run('tar', [options.gzip ? '-czf' : '-cf', file, '-C', storage, ...entries])
}

/** Every file below `root` as a tar item named relative to it, sorted: a tree to alter before tarring it with writeTar. */
export async function storageItems(root: string): Promise<TarItem[]> {
  const items: TarItem[] = []
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(root, relative), { withFileTypes: true })) {
      const name = relative ? `${relative}/${entry.name}` : entry.name
      if (entry.isDirectory()) await walk(name)
      else items.push({ name, body: await readFile(join(root, name)) })
    }
  }
  await walk('')
  return items.sort((a, b) => (a.name < b.name ? -1 : 1))
}
