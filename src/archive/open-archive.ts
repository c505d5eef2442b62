/**
 * Recognises an archive by its content, never its name: a directory with `index.json` is an OCI
 * layout; a file starting with gzip's magic is a gzip'd tar; a file with a tar header is a tar.
 * Inside, `index.json` makes it an OCI layout (Docker ≥ 25's `docker save` too, which also has
 * `manifest.json`), `manifest.json` alone a legacy `docker save`, and a registry storage tree
 * (`docker/registry/v2/…`) a mindthegap bundle: first when mindthegap's `images.yaml` or
 * `charts.yaml` is beside it (as mindthegap decides), else when nothing else says what it is.
 */
import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { InputError } from '../errors.js'
import { fileSystemError, onFile, systemCode } from '../files.js'
import { OciLayout } from '../layout/oci-layout.js'
import { entryName } from '../layout/entries.js'
import type { Source } from '../storage.js'
import { ArchiveLayoutSource, LegacyArchiveSource, type ArchiveImage, type LayerListener } from './archive-sources.js'
import type { ArchiveContainer } from './container.js'
import { GzipTarContainer } from './gzip-container.js'
import { LayerSpool, type SpooledLayer } from './layer-spool.js'
import { isMindthegapBundle, isRegistryTree, RegistryTreeSource } from './registry-tree.js'
import { TarContainer } from './tar-container.js'

export interface OpenedArchive {
  path: string
  /** `OCI layout directory`, `OCI layout tar.gz`, `docker save tar`…: for messages. */
  kind: string
  source: Source
  images: ArchiveImage[]
}

export type ContainerKind = 'directory' | 'gzip' | 'tar'

/** What the first bytes of a file say it is; an error naming the file and what it looks like otherwise. */
export function detectContainer(head: Buffer, path: string): ContainerKind {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.length >= 512 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar'
  // Old (v7) tars have no magic: a header whose checksum adds up is one.
  if (head.length >= 512 && v7ChecksumMatches(head)) return 'tar'
  throw new InputError('archive', `${path} is not a tar, a gzip'd tar or an OCI layout directory (${describe(head)})`)
}

function v7ChecksumMatches(block: Buffer): boolean {
  const field = block.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim()
  if (!/^[0-7]+$/.test(field)) return false
  let sum = 0
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i]
  return parseInt(field, 8) === sum
}

function describe(head: Buffer): string {
  if (head.length === 0) return 'it is empty'
  if (head.subarray(0, 4).toString('latin1') === 'PK\x03\x04') return 'it is a zip file'
  if (head[0] === 0x7b || head[0] === 0x5b) return 'it looks like JSON'
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'it is bzip2-compressed'
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'it is zstd-compressed'
  const text = head.subarray(0, 16).toString('utf8')
  return /^[\x20-\x7e\s]+$/.test(text) ? `it starts with "${text.trim()}"` : 'it starts with bytes of no known format'
}

export async function openArchive(path: string, options: { listener?: LayerListener } = {}): Promise<OpenedArchive> {
  let info
  try {
    info = await stat(path)
  } catch (error) {
    if (systemCode(error) === 'ENOENT') throw new InputError('archive', `${path} does not exist`)
    throw fileSystemError(error, 'read the archive', path)
  }
  if (info.isDirectory()) return openLayoutDirectory(path)
  const head = Buffer.alloc(512)
  const read = await onFile('read the archive', path, async () => {
    const handle = await open(path, 'r')
    try {
      return (await handle.read(head, 0, 512, 0)).bytesRead
    } finally {
      await handle.close()
    }
  })
  const kind = detectContainer(head.subarray(0, read), path)
  const spool = new LayerSpool()
  try {
    // The archive read from end to end: a system call's error on the way is the archive's (the spool says its own).
    return await onFile('read the archive', path, () => openFile(path, kind, spool, options.listener))
  } catch (error) {
    await options.listener?.stop()
    await spool.close()
    throw error
  }
}

/**
 * A tar or gzip'd tar: an OCI layout, or a legacy docker save whose layers `spool` gets (and
 * keeps until the source is closed); closed here at once when nothing in it is needed. `listener`
 * hears of a plain tar's layers as they are compressed (a gzip'd tar's first pass compresses
 * them before `manifest.json`, at its end, says which image they belong to).
 */
async function openFile(path: string, kind: ContainerKind, spool: LayerSpool, listener: LayerListener | undefined): Promise<OpenedArchive> {
  const container: ArchiveContainer = kind === 'gzip' ? await GzipTarContainer.open(path, spool) : await TarContainer.open(path)
  const names = new Set(container.names())
  const packing = kind === 'gzip' ? "gzip'd tar" : 'tar'
  if (isMindthegapBundle(names)) return openRegistryTree(path, container, packing, spool)
  if (names.has('index.json')) {
    await spool.close()
    const source = new ArchiveLayoutSource(container)
    return { path, kind: `OCI layout ${packing}`, source, images: await source.images() }
  }
  if (names.has('manifest.json')) {
    const precomputed = container instanceof GzipTarContainer ? container.compressed : new Map<string, SpooledLayer>()
    const source = await LegacyArchiveSource.open(container, spool, precomputed, kind === 'gzip' ? undefined : listener)
    return { path, kind: `docker save ${packing}`, source, images: source.images() }
  }
  if (isRegistryTree(names)) return openRegistryTree(path, container, packing, spool)
  throw new InputError(
    'archive',
    `${path} is a ${packing} but holds neither index.json (an OCI layout), manifest.json (docker save) nor docker/registry/v2/ (a mindthegap bundle)`
  )
}

/** A mindthegap bundle: its blobs are read from the archive as they are stored, nothing spooled. */
async function openRegistryTree(path: string, container: ArchiveContainer, packing: string, spool: LayerSpool): Promise<OpenedArchive> {
  await spool.close()
  const source = new RegistryTreeSource(container)
  return { path, kind: `mindthegap bundle (registry storage ${packing})`, source, images: await source.images() }
}

async function openLayoutDirectory(path: string): Promise<OpenedArchive> {
  const layout = new OciLayout(path)
  try {
    await stat(join(path, 'index.json'))
  } catch (error) {
    if (systemCode(error) === 'ENOENT')
      throw new InputError('archive', `${path} is a directory but not an OCI layout (it has no index.json)`)
    throw fileSystemError(error, 'read the layout', path)
  }
  const images = (await layout.index()).manifests.map((descriptor) => {
    const name = descriptor.annotations?.['io.containerd.image.name'] ?? entryName(descriptor)
    return { descriptor, ...(name ? { name } : {}) }
  })
  return { path, kind: 'OCI layout directory', source: layout, images }
}
