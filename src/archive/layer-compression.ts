/**
 * Legacy `docker save` layers are uncompressed tars; registries get them gzip'd. The gzip is
 * deterministic — fixed level, and Node's zlib writes no name and mtime 0 — so the same layer
 * gives the same digest on every run, and a re-run pushes nothing new. The digest must be known
 * before the upload (it goes in the PUT's query), so a layer is compressed twice: once to measure
 * (nothing stored), once on its way up.
 */
import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { createGzip, type Gzip } from 'node:zlib'

export interface CompressedLayer {
  /** Digest and size of the gzip'd layer, as pushed. */
  digest: string
  size: number
  /** Digest of the uncompressed layer: what the config's `rootfs.diff_ids` lists. */
  diffId: string
}

const LEVEL = 6

export function deterministicGzip(): Gzip {
  return createGzip({ level: LEVEL })
}

/** Compresses `layer` without keeping anything: the digests and size it will have. */
export async function measureCompressed(layer: Readable): Promise<CompressedLayer> {
  const raw = createHash('sha256')
  const compressed = createHash('sha256')
  let size = 0
  layer.on('data', (chunk: Buffer) => raw.update(chunk))
  await pipeline(
    layer,
    deterministicGzip(),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        compressed.update(chunk)
        size += chunk.length
        done()
      }
    })
  )
  return { digest: `sha256:${compressed.digest('hex')}`, size, diffId: `sha256:${raw.digest('hex')}` }
}
