/** Tarballs written entry by entry (tar-stream's pack), for archives the real tools would never make. */
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { pack, type Header } from 'tar-stream'

export interface TarItem {
  name: string
  /** File content; omitted for links, devices and directories. */
  body?: Buffer | string
  type?: Header['type']
  linkname?: string
}

/** Writes `items` as a tar (gzip'd when `gzip`) at `path`. */
export async function writeTar(path: string, items: readonly TarItem[], options: { gzip?: boolean } = {}): Promise<void> {
  const tar = pack()
  const done = options.gzip ? pipeline(tar, createGzip(), createWriteStream(path)) : pipeline(tar, createWriteStream(path))
  for (const item of items) {
    const header: Partial<Header> & { name: string } = { name: item.name, type: item.type ?? 'file', mode: 0o644, mtime: new Date(0) }
    if (item.linkname !== undefined) header.linkname = item.linkname
    if (item.type === 'character-device') Object.assign(header, { devmajor: 1, devminor: 3 })
    await new Promise<void>((resolve, reject) => {
      const body = item.body === undefined ? undefined : Buffer.from(item.body)
      const callback = (error?: Error | null) => (error ? reject(error) : resolve())
      if (body) tar.entry({ ...header, size: body.length }, body, callback)
      else tar.entry(header, callback)
    })
  }
  tar.finalize()
  await done
}
