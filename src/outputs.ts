/**
 * The outputs of a copy as DESIGN §3 names them, one shape for the action's step outputs and the
 * CLI's `--json`: `image` and `tag` of the first destination written with a tag, the root's
 * `digest`, `mediaType` and `size`, and every reference written.
 */
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
