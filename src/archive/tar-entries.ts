/**
 * Tar entries as an archive reader needs them, and the rules every archive obeys whatever its
 * container (plain tar, gzip'd tar): names normalised inside the root, links resolved inside it,
 * special files and escapes refused with the entry's name.
 */
import { posix } from 'node:path'
import { ContentError } from '../errors.js'

/** Bounds an archive's index whatever the archive says, plain or gzip'd: no image archive comes close. */
export const MAX_ENTRIES = 200_000

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink'

export interface TarEntry {
  /** Normalised: no leading `./` or `/`, no `..`. */
  name: string
  type: EntryType
  size: number
  /** Where the data starts in the (uncompressed) tar stream. */
  offset: number
  /** Normalised target, for links: relative to the entry's directory (symlink) or the root (hardlink). */
  linkname?: string
}

/** Tar typeflags (POSIX ustar, GNU) we accept, and what they are. */
export function entryType(flag: string, name: string, archive: string): EntryType | undefined {
  switch (flag) {
    case '0':
    case '\0':
    case '':
    case '7':
      return 'file'
    case '5':
      return 'directory'
    case '2':
      return 'symlink'
    case '1':
      return 'hardlink'
    case '3':
    case '4':
    case '6':
      throw new ContentError(archive, `entry "${name}" is a device or FIFO; archives of images hold only files, directories and links`)
    default:
      // pax and GNU metadata headers are read by the caller; anything else is ignored.
      return undefined
  }
}

/** A name inside the archive root, or an error naming the entry when it would leave it. */
export function normaliseName(raw: string, archive: string): string {
  if (raw.startsWith('/')) throw new ContentError(archive, `entry "${raw}" has an absolute path`)
  const name = posix
    .normalize(raw)
    .replace(/^(\.\/)+/, '')
    .replace(/\/$/, '')
  if (name === '..' || name.startsWith('../')) throw new ContentError(archive, `entry "${raw}" points outside the archive`)
  return name === '.' ? '' : name
}

/** Where a link points, inside the root; an error naming the entry when it would leave it. */
export function linkTarget(entry: { name: string; type: EntryType }, target: string, archive: string): string {
  if (target.startsWith('/')) throw new ContentError(archive, `link "${entry.name}" points to an absolute path (${target})`)
  const base = entry.type === 'symlink' ? posix.dirname(entry.name) : ''
  const resolved = posix.normalize(posix.join(base, target))
  if (resolved === '..' || resolved.startsWith('../'))
    throw new ContentError(archive, `link "${entry.name}" points outside the archive (${target})`)
  return resolved.replace(/^(\.\/)+/, '')
}

/** The entries by name; links followed (bounded) to the file they name. */
export class EntryTable {
  private readonly byName = new Map<string, TarEntry>()

  constructor(private readonly archive: string) {}

  add(entry: TarEntry): void {
    if (entry.type !== 'directory') this.byName.set(entry.name, entry)
  }

  get size(): number {
    return this.byName.size
  }

  names(): IterableIterator<string> {
    return this.byName.keys()
  }

  /** The regular file `name` is, after links; undefined when there is none. */
  file(name: string): TarEntry | undefined {
    let entry = this.byName.get(name)
    for (let hops = 0; entry && entry.type !== 'file'; hops++) {
      if (hops >= 16) throw new ContentError(this.archive, `link "${name}" goes through more than 16 links`)
      if (entry.type === 'directory' || entry.linkname === undefined) return undefined
      entry = this.byName.get(entry.linkname)
    }
    return entry
  }
}
