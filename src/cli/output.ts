/**
 * The result on stdout: lines for people, or with `--json` the action's outputs (DESIGN §3) as
 * one JSON object — `{image, digest, tag, mediaType, size, pushed}` for copy, push and package,
 * the `mirrored` array for mirror.
 */
import { countRows } from '../outputs.js'
import type { CopyResult } from '../engine/request.js'
import type { MirrorResult, MirrorRow } from '../engine/mirror.js'
import { formatBytes } from '../size.js'

export { copyOutputs, type CopyOutputs } from '../outputs.js'

export function copyLines(result: CopyResult | undefined): string[] {
  if (!result) return ['Nothing pushed: the archives hold no image']
  const verb = result.planned ? 'would push' : 'pushed'
  const { stats } = result
  return [
    ...result.pushed.map((p) => `${verb} ${p.ref} ${p.digest}`),
    ...result.rewritten.map((r) => `rewrote ${r.from} as ${r.to}`),
    ...result.referrers.map((r) => `copied referrer ${r.digest} (${r.kind}) of ${r.subject}`),
    result.planned
      ? `${result.mediaType}, ${formatBytes(result.size)}; at most ${formatBytes(result.planned.bytes)} to upload; nothing was written`
      : `${result.mediaType}, ${formatBytes(result.size)}; ${formatBytes(stats.bytesUploaded)} uploaded in ${stats.blobsUploaded} blobs, ` +
        `${stats.blobsMounted} mounted, ${stats.blobsSkipped} already there; ${result.seconds.toFixed(1)} s`
  ]
}

/** One object of the action's `mirrored` output. */

const STATUS_WORDS: Record<MirrorRow['status'], string> = {
  copied: 'copied',
  skipped: 'up to date',
  referrers: 'new referrers for',
  'not-started': 'not started',
  failed: 'failed',
  planned: 'would copy'
}

export function mirrorLines(result: MirrorResult): string[] {
  const counts = countRows(result.rows)
  const failed = counts.failed + result.entryErrors.length
  const parts = [
    counts.copied > 0 && `${counts.copied} copied`,
    counts.planned > 0 && `${counts.planned} to copy`,
    `${counts.skipped} up to date`,
    counts.referrers > 0 && `${counts.referrers} up to date with new referrers`,
    counts.notStarted > 0 && `${counts.notStarted} not started`,
    failed > 0 && `${failed} failed`
  ].filter(Boolean)
  const shard = result.shard ? ` (shard ${result.shard.index}/${result.shard.count})` : ''
  return [
    ...result.rows.map(
      (row) =>
        `${STATUS_WORDS[row.status]} ${row.source} -> ${row.destination}` +
        (row.status === 'failed' ? `: ${row.error ?? 'failed'}` : ` ${row.digest} (${formatBytes(row.bytes)})`)
    ),
    ...result.entryErrors.map((e) => `failed entry ${e.entry} (${e.source}): ${e.error}`),
    `Mirror${shard}: ${parts.join(', ')}; ${formatBytes(counts.bytes)} in ${result.seconds.toFixed(1)} s`
  ]
}

/** Every failure of a mirror run, one line each: pairs and entries whose tags could not be listed. */
export function mirrorFailureLines(result: MirrorResult): string[] {
  return [
    ...result.entryErrors.map((e) => `entry ${e.entry} (${e.source}): ${e.error}`),
    ...result.rows.filter((r) => r.status === 'failed').map((r) => `${r.source} -> ${r.destination}: ${r.error ?? 'failed'}`)
  ]
}
