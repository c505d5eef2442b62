/**
 * What a destination tag's image already holds, by the `diff_id`s its config lists. A docker save
 * pushed again under the same tag (`latest`, say) with some layers changed finds the unchanged
 * ones there: they are measured and asked for first, not compressed into an upload, since a
 * layer's digest is known only once it is compressed, and by then it would be on its way.
 */
import { digestWithAlgorithmOf } from '../digest.js'
import { MAX_MANIFEST_BYTES } from '../manifest.js'
import { isManifestResolver, type Source } from '../storage.js'
import { manifestKind } from '../media-types.js'
import { readCapped } from '../streams.js'
import { fetchRoot } from './graph.js'

/**
 * The `diff_id`s of the image `tag` names at `target`, when it is an image whose config lists
 * one per layer; empty when the tag is not there or is anything else. A HEAD of the tag, then,
 * when it names an image, its manifest and config; a failure is `reason`'s to log, never the push's.
 */
export async function previousLayers(target: Source, tag: string, reason: (error: unknown) => void): Promise<ReadonlySet<string>> {
  try {
    // A HEAD first: no such tag is the common case, and Docker Hub counts a manifest GET as a pull.
    const resolved = isManifestResolver(target) ? await target.resolveManifest(tag) : undefined
    if (!resolved || manifestKind(resolved.mediaType) !== 'image') return new Set()
    const root = await fetchRoot(target, resolved.digest)
    if (root.manifest.kind !== 'image' || root.manifest.config.size > MAX_MANIFEST_BYTES) return new Set()
    const { config, layers } = root.manifest
    const bytes = await readCapped(await target.fetchBlob(config), MAX_MANIFEST_BYTES, 'config')
    if (digestWithAlgorithmOf(config.digest, bytes) !== config.digest) return new Set()
    const diffIds = (JSON.parse(bytes.toString('utf8')) as { rootfs?: { diff_ids?: unknown } }).rootfs?.diff_ids
    if (!Array.isArray(diffIds) || diffIds.length !== layers.length) return new Set()
    return new Set(diffIds.filter((id): id is string => typeof id === 'string'))
  } catch (error) {
    reason(error)
    return new Set()
  }
}
