/**
 * The outputs of a copy as DESIGN §3 names them, one shape for the action's step outputs and the
 * CLI's `--json`: `image` and `tag` of the first destination written with a tag, the root's
 * `digest`, `mediaType` and `size`, and every reference written.
 */
import type { ProgressEvent } from './engine/events.js'
import type { MirrorRow } from './engine/mirror.js'
import type { CopyResult } from './engine/request.js'

export interface PushedOutput {
  ref: string
  digest: string
  mediaType: string
  size: number
}

/** The action's outputs of a copy, with `size` a number and `pushed` an array rather than their text. */
export interface CopyOutputs {
  image: string
  digest: string
  tag: string
  mediaType: string
  size: number
  pushed: PushedOutput[]
  /** A dry run: nothing was written; at most this many bytes would be uploaded. */
  planned?: { bytes: number }
}

/** As the action sets them: `image` and `tag` of the first destination written with a tag. Empty when nothing was pushed. */
export function copyOutputs(result: CopyResult | undefined): CopyOutputs {
  if (!result) return { image: '', digest: '', tag: '', mediaType: '', size: 0, pushed: [] }
  const first = result.pushed.find((p) => p.tag !== undefined) ?? result.pushed[0]
  return {
    image: first?.ref ?? '',
    digest: result.digest,
    tag: first?.tag ?? '',
    mediaType: result.mediaType,
    size: result.size,
    pushed: result.pushed.map(({ ref, digest, mediaType, size }) => ({ ref, digest, mediaType, size })),
    ...(result.planned ? { planned: { bytes: result.planned.bytes } } : {})
  }
}

/** A reference in place at a destination, from the engine's `tag-written` events. */
export interface WrittenReference {
  ref: string
  digest: string
  mediaType: string
  size: number
  how: 'tagged' | 'stored' | 'unchanged'
}

/** Adds what a `tag-written` event says is in place to `written`; other events are not about that. */
export function recordWritten(written: WrittenReference[], event: ProgressEvent): void {
  if (event.type !== 'tag-written') return
  const { ref, digest, mediaType, size, how } = event
  written.push({ ref, digest, mediaType, size, how })
}

/**
 * The outputs of a step that failed after writing (a registry that died mid-way): what is in
 * place, as {@link copyOutputs} gives it for a whole copy. `image` and `tag` name the first
 * reference written with a tag.
 */
export function writtenOutputs(written: readonly WrittenReference[]): CopyOutputs {
  const pushed = written.map(({ ref, digest, mediaType, size }) => ({ ref, digest, mediaType, size }))
  const tagOf = (ref: string) => (ref.includes('@') ? undefined : /:([^/:]+)$/.exec(ref)?.[1])
  const tagged = written.find((w) => tagOf(w.ref) !== undefined) ?? written[0]
  const tag = tagged ? (tagOf(tagged.ref) ?? '') : ''
  return {
    image: tagged?.ref ?? '',
    digest: tagged?.digest ?? '',
    tag,
    mediaType: tagged?.mediaType ?? '',
    size: tagged?.size ?? 0,
    pushed
  }
}

/** A mirror run's rows counted by status, and the bytes they moved: for the job summary, the log and the CLI. */
export interface MirrorCounts {
  copied: number
  skipped: number
  /** Up to date, with new referrers copied. */
  referrers: number
  failed: number
  planned: number
  /** Never started: a failFast run stopped first. */
  notStarted: number
  bytes: number
}

export function countRows(rows: readonly MirrorRow[]): MirrorCounts {
  const counts: MirrorCounts = { copied: 0, skipped: 0, referrers: 0, failed: 0, planned: 0, notStarted: 0, bytes: 0 }
  for (const row of rows) {
    counts[row.status === 'not-started' ? 'notStarted' : row.status]++
    counts.bytes += row.bytes
  }
  return counts
}
