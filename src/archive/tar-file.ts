/**
 * A plain (uncompressed) tar file read in place: its headers are read once, by offset, without
 * reading the data between them, and each entry is then opened as a byte range. Nothing is
 * extracted and memory does not grow with the archive (POSIX ustar, GNU long names, pax).
 */
import { open, type FileHandle } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { ContentError } from '../errors.js'
import { readFileStream } from '../streams.js'
import { EntryTable, entryType, linkTarget, MAX_ENTRIES, normaliseName, type TarEntry } from './tar-entries.js'

const BLOCK = 512
/** pax and GNU long-name headers are small; a larger one is not an honest archive. */
const MAX_META = 1024 * 1024

export interface TarHeader {
  name: string
  size: number
  flag: string
  linkname: string
}

/** Parses one 512-byte ustar header; undefined for an all-zero block (the end of the archive). */
export function parseHeader(block: Buffer, archive: string): TarHeader | undefined {
  if (block.every((b) => b === 0)) return undefined
  const text = (from: number, length: number) => {
    const field = block.subarray(from, from + length)
    const end = field.indexOf(0)
    return field.subarray(0, end < 0 ? length : end).toString('utf8')
  }
  const checksum = parseInt(text(148, 8).trim() || '0', 8)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]
  if (checksum !== sum) throw new ContentError(archive, 'is not a tar archive (a header checksum does not match)')
  const prefix = text(257, 6).startsWith('ustar') ? text(345, 155) : ''
  const name = prefix ? `${prefix}/${text(0, 100)}` : text(0, 100)
  return { name, size: parseSize(block.subarray(124, 136), archive), flag: text(156, 1), linkname: text(157, 100) }
}

/** Octal, or GNU base-256 for sizes past 8 GiB. */
function parseSize(field: Buffer, archive: string): number {
  if (field[0] & 0x80) {
    let value = 0
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]
    return value
  }
  const text = field.toString('ascii').replace(/\0.*$/s, '').trim()
  const value = text === '' ? 0 : parseInt(text, 8)
  if (!Number.isSafeInteger(value) || value < 0) throw new ContentError(archive, 'is not a tar archive (an entry size is not a number)')
  return value
}

/** pax extended header records: `LEN key=value\n`. */
export function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  let pos = 0
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos)
    if (space < 0) break
    const length = Number(data.subarray(pos, space).toString('ascii'))
    if (!Number.isSafeInteger(length) || length <= 0) break
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8')
    const eq = record.indexOf('=')
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1)
    pos += length
  }
  return out
}

/** Reads the entries of a tar file into an {@link EntryTable}, given the path for messages. */
export async function indexTarFile(path: string): Promise<TarFile> {
  const handle = await open(path, 'r')
  try {
    const table = new EntryTable(path)
    const block = Buffer.alloc(BLOCK)
    let offset = 0
    let longName: string | undefined
    let longLink: string | undefined
    let pax: Record<string, string> = {}
    for (let count = 0; ; count++) {
      if (count > MAX_ENTRIES) throw new ContentError(path, `has more than ${MAX_ENTRIES} entries`)
      const { bytesRead } = await handle.read(block, 0, BLOCK, offset)
      if (bytesRead < BLOCK) break
      const header = parseHeader(block, path)
      if (!header) break
      const dataStart = offset + BLOCK
      offset = dataStart + Math.ceil(header.size / BLOCK) * BLOCK
      if (header.flag === 'L' || header.flag === 'K' || header.flag === 'x') {
        const data = await readRange(handle, dataStart, header.size, path)
        if (header.flag === 'L') longName = data.toString('utf8').replace(/\0+$/, '')
        else if (header.flag === 'K') longLink = data.toString('utf8').replace(/\0+$/, '')
        else pax = parsePax(data)
        continue
      }
      const rawName = pax.path ?? longName ?? header.name
      const rawLink = pax.linkpath ?? longLink ?? header.linkname
      const size = pax.size !== undefined ? Number(pax.size) : header.size
      longName = longLink = undefined
      pax = {}
      const type = entryType(header.flag, rawName, path)
      if (!type) continue
      const name = normaliseName(rawName, path)
      const entry: TarEntry = { name, type, size: type === 'file' ? size : 0, offset: dataStart }
      if (type === 'symlink' || type === 'hardlink')
        entry.linkname = type === 'hardlink' ? normaliseName(rawLink, path) : linkTarget(entry, rawLink, path)
      if (size !== header.size) offset = dataStart + Math.ceil(size / BLOCK) * BLOCK
      table.add(entry)
    }
    const { size: fileSize } = await handle.stat()
    for (const name of table.names()) {
      const entry = table.file(name)
      if (entry && entry.offset + entry.size > fileSize) throw new ContentError(path, `entry "${name}" is truncated`)
    }
    return new TarFile(path, table)
  } finally {
    await handle.close()
  }
}

async function readRange(handle: FileHandle, offset: number, size: number, archive: string): Promise<Buffer> {
  if (size > MAX_META) throw new ContentError(archive, `a metadata header of ${size} bytes is larger than ${MAX_META}`)
  const data = Buffer.alloc(size)
  const { bytesRead } = await handle.read(data, 0, size, offset)
  if (bytesRead < size) throw new ContentError(archive, 'is truncated')
  return data
}

/** An indexed tar file: entries opened as byte ranges of the file. */
export class TarFile {
  constructor(
    readonly path: string,
    readonly entries: EntryTable
  ) {}

  open(entry: TarEntry, signal?: AbortSignal): Readable {
    if (entry.size === 0) return Readable.from([])
    return readFileStream(this.path, { start: entry.offset, end: entry.offset + entry.size - 1, ...(signal ? { signal } : {}) })
  }
}
