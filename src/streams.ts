/** Streams read whole, within a bound: manifests, configs, JSON from any store. */
import type { Readable } from 'node:stream'
import { ContentError } from './errors.js'

/** Reads a stream whole, up to `limit` bytes; more than that is an error, not a truncation. */
export async function readCapped(body: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of body) {
    total += (chunk as Buffer).length
    if (total > limit) {
      body.destroy()
      throw new ContentError(what, `larger than ${limit} bytes`)
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}
