/**
 * A directory tree as a reproducible tar.gz: entries sorted, mtimes set to SOURCE_DATE_EPOCH (else
 * 0), owner 0:0 with no names, modes 0644/0755, deterministic gzip — the same tree gives the same
 * digest on every machine and every run. Symlinks inside the tree are kept; those pointing out of
 * it, and special files, are refused with their name.
 */
import { createReadStream } from 'node:fs'
import { lstat, readdir, readlink } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { pack, type Header } from 'tar-stream'
import { InputError } from '../errors.js'
import { deterministicGzip } from '../archive/layer-compression.js'

export interface TreeEntry {
  /** Relative to the root, `/`-separated. */
  path: string
  type: 'file' | 'directory' | 'symlink'
  /** 0644 or 0755 (0777 for a symlink). */
  mode: number
  size: number
  /** Where to read a file's bytes. */
  source: string
  linkname?: string
}

/** Decides whether a relative path (a directory when `directory`) is left out. */
export type Ignore = (path: string, directory: boolean) => boolean

/** Every entry below `root`, sorted by path; refuses what a package cannot hold. */
export async function walkTree(root: string, ignore: Ignore = () => false): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = []
  const visit = async (relative: string): Promise<void> => {
    const names = (await readdir(join(root, relative))).sort()
    for (const name of names) {
      const path = relative ? `${relative}/${name}` : name
      const absolute = join(root, path)
      const info = await lstat(absolute)
      if (ignore(path, info.isDirectory())) continue
      if (info.isDirectory()) {
        entries.push({ path, type: 'directory', mode: 0o755, size: 0, source: absolute })
        await visit(path)
      } else if (info.isFile()) {
        entries.push({ path, type: 'file', mode: info.mode & 0o111 ? 0o755 : 0o644, size: info.size, source: absolute })
      } else if (info.isSymbolicLink()) {
        const target = await readlink(absolute)
        const resolved = posix.normalize(posix.join(posix.dirname(path), target))
        if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
          throw new InputError('path', `${path} is a symlink to ${target}, outside the directory; a package keeps only links inside it`)
        }
        entries.push({ path, type: 'symlink', mode: 0o777, size: 0, source: absolute, linkname: target })
      } else {
        throw new InputError(
          'path',
          `${path} is a special file (socket, FIFO or device); a package holds files, directories and links only`
        )
      }
    }
  }
  await visit('')
  return entries
}

export interface TarOptions {
  /** Put under this directory in the archive (`mychart/`), as `helm package` does. */
  prefix?: string
  /** Seconds since the epoch for every entry. */
  mtime: number
  /** Files whose bytes are given here instead of read from disk (a rewritten Chart.yaml). */
  replace?: ReadonlyMap<string, Buffer>
  /** Entries put first, in this order (Chart.yaml leads a Helm chart). */
  first?: readonly string[]
}

/** The tree as a gzip'd tar stream, made again the same way each time it is called. */
export function tarGzip(entries: readonly TreeEntry[], options: TarOptions): Readable {
  const tar = pack()
  const out = new PassThrough()
  const ordered = [
    ...(options.first ?? []).flatMap((p) => entries.filter((e) => e.path === p)),
    ...entries.filter((e) => !options.first?.includes(e.path))
  ]
  const write = async () => {
    for (const entry of ordered) {
      const name = `${options.prefix ?? ''}${entry.path}${entry.type === 'directory' ? '/' : ''}`
      const replaced = options.replace?.get(entry.path)
      const header = {
        name,
        type: entry.type,
        mode: entry.mode,
        mtime: new Date(options.mtime * 1000),
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
        size: entry.type === 'file' ? (replaced?.length ?? entry.size) : 0,
        ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {})
      } as Header
      if (entry.type !== 'file') {
        await new Promise<void>((resolve, reject) => tar.entry(header, (error) => (error ? reject(error) : resolve())))
      } else if (replaced) {
        await new Promise<void>((resolve, reject) => tar.entry(header, replaced, (error) => (error ? reject(error) : resolve())))
      } else {
        await pipeline(createReadStream(entry.source), tar.entry(header))
      }
    }
    tar.finalize()
  }
  write().catch((error: Error) => out.destroy(error))
  tar.on('error', (error) => out.destroy(error))
  const gzip = deterministicGzip()
  gzip.on('error', (error) => out.destroy(error))
  return tar.pipe(gzip).pipe(out)
}
