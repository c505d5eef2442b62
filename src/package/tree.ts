/**
 * A directory tree as a reproducible tar: entries sorted, mtimes set to SOURCE_DATE_EPOCH (else
 * 0), owner 0:0 with no names, modes 0644/0755, deterministic gzip — the same tree gives the same
 * digest on every machine and every run. Special files are refused with their name. Symlinks are
 * either kept as links (those pointing out of the tree refused), or followed as `helm package`
 * follows them (helm internal/sympath walk.go, which follows every link and only logs it): a link
 * to a file is that file, a link to a directory its contents, wherever it leads (a monorepo's
 * charts link shared templates from `../common`); one leading out of the tree gets a notice. A
 * link that dangles or loops back into its own ancestors is refused.
 */
import { createReadStream } from 'node:fs'
import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { isAbsolute, join, posix, relative as relativePath, sep } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { pack, type Header, type Pack } from 'tar-stream'
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

/** What to do with a symlink: keep it as a link, or package what it points to. */
export type Links = 'keep' | 'follow'

export interface Tree {
  /** Sorted by path. */
  entries: TreeEntry[]
  /** Links followed out of the tree, one sentence each: what they brought in from where. */
  notices: string[]
}

/** Every entry below `root`; refuses what a package cannot hold. */
export async function walkTree(root: string, ignore: Ignore = () => false, links: Links = 'keep'): Promise<Tree> {
  const top = await realpath(root)
  const entries: TreeEntry[] = []
  const notices: string[] = []
  /** `directory` is the real path listed; `ancestors` the real paths of the directories being walked. */
  const visit = async (relative: string, directory: string, ancestors: readonly string[]): Promise<void> => {
    for (const name of (await readdir(directory)).sort()) {
      const path = relative ? `${relative}/${name}` : name
      let source = join(directory, name)
      let info = await lstat(source)
      let notice: string | undefined
      const linked = info.isSymbolicLink()
      if (linked && links === 'follow') ({ source, info, notice } = await follow(top, path, source))
      if (ignore(path, info.isDirectory())) continue
      if (notice) notices.push(notice)
      if (info.isDirectory()) {
        if (ancestors.includes(source)) {
          const how = linked ? 'is a symlink to a directory that holds it' : 'is, through a symlink, a directory that holds itself'
          throw new InputError('path', `${path} ${how}; a chart cannot hold a loop`)
        }
        entries.push({ path, type: 'directory', mode: 0o755, size: 0, source })
        await visit(path, source, [...ancestors, source])
      } else if (info.isFile()) {
        entries.push({ path, type: 'file', mode: info.mode & 0o111 ? 0o755 : 0o644, size: info.size, source })
      } else if (info.isSymbolicLink()) {
        entries.push(await keptLink(path, source))
      } else {
        throw new InputError(
          'path',
          `${path} is a special file (socket, FIFO or device); a package holds files, directories and links only`
        )
      }
    }
  }
  await visit('', top, [top])
  return { entries, notices }
}

/** A link kept as a link: its target must stay inside the tree, where `oras pull` also checks it. */
async function keptLink(path: string, source: string): Promise<TreeEntry> {
  const target = await readlink(source)
  const resolved = posix.normalize(posix.join(posix.dirname(path), target))
  if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
    throw new InputError('path', `${path} is a symlink to ${target}, outside the directory; a package keeps only links inside it`)
  }
  return { path, type: 'symlink', mode: 0o777, size: 0, source, linkname: target }
}

/**
 * Where a link inside a chart leads (its real path) and what is there. Helm follows a link out of
 * the chart as readily as one inside it; so do we, and say so, since what it brings in is not in
 * the chart's directory.
 */
async function follow(top: string, path: string, link: string): Promise<{ source: string; info: Stats; notice?: string }> {
  const target = await readlink(link)
  let source: string
  try {
    source = await realpath(link)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new InputError(
        'path',
        `${path} is a symlink to ${target}, which leads back to itself through links; a chart cannot hold a loop`
      )
    }
    throw new InputError(
      'path',
      `${path} is a symlink to ${target}, which does not exist; helm package follows links, so it must lead to a file or directory`
    )
  }
  const inside = relativePath(top, source)
  const outside = inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)
  const info = await stat(source)
  if (!outside) return { source, info }
  const notice = `${path} is a symlink to ${target}, outside the chart: ${source} is packaged in its place, as helm package does`
  return { source, info, notice }
}

export interface TarOptions {
  /** Put under this directory in the archive (`mychart/`), as `helm package` and oras do. */
  prefix?: string
  /** Write the prefix directory itself as the first entry, as oras does. */
  prefixEntry?: boolean
  /** Seconds since the epoch for every entry. */
  mtime: number
  /** Files whose bytes are given here instead of read from disk (a rewritten Chart.yaml). */
  replace?: ReadonlyMap<string, Buffer>
  /** Entries put first, in this order (Chart.yaml leads a Helm chart). */
  first?: readonly string[]
}

/** The tree as a tar stream, made again the same way each time it is called. */
export function tarStream(entries: readonly TreeEntry[], options: TarOptions): Readable {
  const tar = pack()
  const prefix = options.prefix ?? ''
  const ordered = [
    ...(options.first ?? []).flatMap((p) => entries.filter((e) => e.path === p)),
    ...entries.filter((e) => !options.first?.includes(e.path))
  ]
  const header = (name: string, entry: Pick<TreeEntry, 'type' | 'mode' | 'linkname'>, size: number): Header =>
    ({
      name,
      type: entry.type,
      mode: entry.mode,
      mtime: new Date(options.mtime * 1000),
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
      size,
      ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {})
    }) as Header
  const write = async () => {
    if (options.prefixEntry && prefix) await add(tar, header(prefix, { type: 'directory', mode: 0o755 }, 0))
    for (const entry of ordered) {
      const name = `${prefix}${entry.path}${entry.type === 'directory' ? '/' : ''}`
      const replaced = options.replace?.get(entry.path)
      if (entry.type !== 'file') await add(tar, header(name, entry, 0))
      else if (replaced) await add(tar, header(name, entry, replaced.length), replaced)
      else await pipeline(createReadStream(entry.source), tar.entry(header(name, entry, entry.size)))
    }
    tar.finalize()
  }
  // tar-stream's streams are streamx streams: handed on as a Node stream, errors included.
  const out = new PassThrough()
  write().catch((error: Error) => out.destroy(error))
  tar.on('error', (error) => out.destroy(error))
  return tar.pipe(out)
}

function add(tar: Pack, header: Header, body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null) => (error ? reject(error) : resolve())
    if (body) tar.entry(header, body, done)
    else tar.entry(header, done)
  })
}

/** The tree as a gzip'd tar stream, made again the same way each time it is called. */
export function tarGzip(entries: readonly TreeEntry[], options: TarOptions): Readable {
  return gzipped(tarStream(entries, options))
}

/** A stream gzip'd deterministically; an error on either side ends the result with it. */
export function gzipped(stream: Readable): Readable {
  const out = new PassThrough()
  const gzip = deterministicGzip()
  stream.on('error', (error) => out.destroy(error))
  gzip.on('error', (error) => out.destroy(error))
  return stream.pipe(gzip).pipe(out)
}
