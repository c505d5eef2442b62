/**
 * Young-generation collections while blobs stream. Each socket read is a fresh 64 KiB buffer,
 * garbage once it is passed on; V8 frees such buffers only at its next collection, and a copy
 * allocates so little else that none comes for a long time: Node 24 lets 64 MiB of them wait
 * (its external-memory limit). A minor collection every {@link EVERY} bytes keeps a copy's peak
 * memory flat, and costs less CPU than the waiting buffers do (docs/performance.md).
 *
 * The entry points hand in V8's collector ({@link useCollector}, from `v8-tuning.ts`); without
 * one (tests, or a Node whose flags we leave alone) {@link streamed} only counts.
 */

/** Bytes streamed between two collections. */
export const EVERY = 4 * 1024 * 1024

let collect: (() => void) | undefined
let since = 0

/** Collects every {@link EVERY} bytes with `collector` from now on; `undefined` stops it. */
export function useCollector(collector: (() => void) | undefined): void {
  collect = collector
  since = 0
}

/** `bytes` more of a blob have passed through. */
export function streamed(bytes: number): void {
  if (!collect) return
  since += bytes
  if (since < EVERY) return
  since = 0
  collect()
}
