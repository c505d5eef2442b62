/**
 * Where nothing of a graph is at the target (a new repository, most likely), a blob's upload
 * session is opened and its source read alongside the existence check, instead of after it: one
 * round trip where three followed each other. What was started for nothing is dropped.
 */
import type { Readable } from 'node:stream'
import type { Descriptor } from '../manifest.js'
import type { Target, UploadPreparer } from '../storage.js'
import type { BlobRoute } from './blob-move.js'

/** The source's download of a blob, started before its upload. */
export type Prefetched = Promise<Readable>

/**
 * Asks whether the target has `blob` while its upload session opens and its download starts: with
 * the download when the target lacks it; when it has it, the download and the session are dropped.
 * (The download is wrapped: an async function would wait for a promise it returns.)
 */
export async function prefetchUnlessPresent(
  blob: Descriptor,
  route: BlobRoute & { target: Target & UploadPreparer }
): Promise<{ present: true } | { present: false; prefetched: Prefetched }> {
  const { source, target, signal } = route
  // Listened to at once: a download that breaks before its upload starts is an error kept on the
  // stream (`errored`), read when the upload takes it, not an unhandled one.
  const prefetched = source.fetchBlob(blob, { signal }).then((stream) => stream.on('error', () => {}))
  prefetched.catch(() => {})
  const [exists] = await Promise.all([target.blobExists(blob), target.prepareUpload(blob, { signal })]).catch(async (error: unknown) => {
    await release(prefetched)
    throw error
  })
  if (!exists) return { present: false, prefetched }
  await release(prefetched)
  void target.abandonUpload(blob)
  return { present: true }
}

/** Drops a download fetched ahead and not needed: its body is destroyed, the abort it raises ignored. */
export async function release(prefetched: Prefetched | undefined): Promise<void> {
  const stream = await prefetched?.catch(() => undefined)
  if (!stream) return
  stream.on('error', () => {})
  stream.destroy()
}
