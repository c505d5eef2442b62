/**
 * The job summary as Markdown (DESIGN §3, §7): what was copied or would be, from where, for which
 * platforms, and — on failure too — what was written and what failed. Pure: text in, text out;
 * outputs.ts writes it.
 */
import type { CopyResult } from '../engine/copy-artifact.js'
import type { MirrorResult } from '../engine/mirror.js'
import type { Shard } from '../mirror/shard.js'
import { plain } from '../escape.js'
import { formatBytes } from '../size.js'
import { countRows, type WrittenReference } from '../outputs.js'

/** What the run was asked to do, as the summary names it. */
export interface RunDescription {
  /** The source as given (reference, layout, archives, path, or the mirror config). */
  source?: string
  /** `linux/amd64, linux/arm64`, or empty for every platform. */
  platforms: string[]
  dryRun: boolean
}

/** Rows of a mirror listed in the summary at most (the counts cover every row). */
export const SUMMARY_ROWS = 1000

/**
 * One table cell: `|` escaped (GFM splits on it even inside code), `\` and backticks escaped so an
 * escape or a code span in the text stays text, `<`, `>` and `&` as entities so nothing reads as
 * HTML, lines joined and other control characters escaped ({@link plain}).
 */
export function cell(text: string): string {
  return plain(text.replace(/\s*\r?\n\s*/g, ' '), Number.MAX_SAFE_INTEGER)
    .replace(/[\\`|]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
}

/** A GFM table; every cell escaped. */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n') + '\n\n'
}

function heading(text: string): string {
  return `### ${text}\n\n`
}

function runTable(run: RunDescription): string {
  return markdownTable(['Source', 'Platforms'], [[run.source ?? '(inputs not read)', run.platforms.join(', ') || 'all']])
}

/** A copy (or archive, or package) that ended: what is where now, or would be for a dry run. */
export function copySummary(result: CopyResult, run: RunDescription): string {
  const parts = [heading(result.planned ? 'oci-push: dry run, nothing written' : 'oci-push'), runTable(run)]
  parts.push(
    markdownTable(
      [result.planned ? 'Would write' : 'Reference', 'Digest', 'Media type', 'Size'],
      result.pushed.map((p) => [p.ref, p.digest, p.mediaType, formatBytes(p.size)])
    )
  )
  if (result.referrers.length > 0) {
    parts.push(
      markdownTable(
        ['Referrer copied', 'Kind', 'Refers to'],
        result.referrers.map((r) => [r.digest, r.kind, r.subject])
      )
    )
  }
  if (result.rewritten.length > 0) {
    parts.push(
      markdownTable(
        ['Rewritten manifest', 'New digest', 'Media type'],
        result.rewritten.map((r) => [r.from, r.to, r.mediaType])
      )
    )
  }
  const seconds = result.seconds.toFixed(1)
  if (result.planned) {
    parts.push(markdownTable(['Bytes to upload at most', 'Seconds'], [[formatBytes(result.planned.bytes), seconds]]))
  } else {
    const { stats } = result
    parts.push(
      markdownTable(
        ['Bytes uploaded', 'Blobs mounted', 'Blobs skipped', 'Blobs uploaded', 'Seconds'],
        [[formatBytes(stats.bytesUploaded), String(stats.blobsMounted), String(stats.blobsSkipped), String(stats.blobsUploaded), seconds]]
      )
    )
  }
  return parts.join('')
}

/** A run that failed: the error, and every reference written before it (each complete: tags go last). */
export function failureSummary(run: RunDescription, error: string, written: readonly WrittenReference[]): string {
  const parts = [heading('oci-push failed'), runTable(run), markdownTable(['Failed'], [[error]])]
  parts.push(
    written.length > 0
      ? 'Written before the failure (each complete):\n\n' +
          markdownTable(
            ['Reference', 'Digest', 'How'],
            written.map((w) => [w.ref, w.digest, w.how])
          )
      : 'No reference was written.\n\n'
  )
  return parts.join('')
}

function shardName(shard: Shard | undefined): string {
  return shard ? `${shard.index}/${shard.count}` : 'all (not sharded)'
}

/** The failed pairs and the entries whose tags could not be listed, one line each, for the summary and the step's error. */
export interface MirrorFailure {
  source: string
  destination: string
  error: string
}

export function mirrorFailures(result: MirrorResult, destinationOf: (entry: number) => string): MirrorFailure[] {
  return [
    ...result.entryErrors.map((e) => ({ source: `entry ${e.entry} (${e.source})`, destination: destinationOf(e.entry), error: e.error })),
    ...result.rows
      .filter((r) => r.status === 'failed')
      .map((r) => ({ source: r.source, destination: r.destination, error: r.error ?? 'failed' }))
  ]
}

/**
 * A mirror run: this shard's counts, every failure, the pairs copied (or that would be), and how
 * many rows the `mirrored` output left out.
 */
export function mirrorSummary(
  result: MirrorResult,
  run: RunDescription,
  failures: readonly MirrorFailure[],
  leftOut: { kept: number; total: number }
): string {
  const counts = countRows(result.rows)
  const failed = counts.failed + result.entryErrors.length
  const parts = [heading(run.dryRun ? 'oci-push mirror: dry run, nothing written' : 'oci-push mirror')]
  parts.push(markdownTable(['Mirror config'], [[run.source ?? 'inline']]))
  parts.push(
    markdownTable(
      ['Shard', 'Copied', 'Skipped', 'New referrers', 'Failed', 'Planned', 'Bytes', 'Time'],
      [
        [
          shardName(result.shard),
          String(counts.copied),
          String(counts.skipped),
          String(counts.referrers),
          String(failed),
          String(counts.planned),
          formatBytes(counts.bytes),
          `${result.seconds.toFixed(1)} s`
        ]
      ]
    )
  )
  if (counts.notStarted > 0) parts.push(`${counts.notStarted} pairs were not started: failFast stopped the run at its first failure.\n\n`)
  if (failures.length > 0) {
    parts.push(
      '#### Failures\n\n',
      markdownTable(
        ['Source', 'Destination', 'Error'],
        failures.slice(0, SUMMARY_ROWS).map((f) => [f.source, f.destination, f.error])
      ),
      more(failures.length - SUMMARY_ROWS, 'failures')
    )
  }
  const moved = result.rows.filter((r) => r.status === 'copied' || r.status === 'planned')
  if (moved.length > 0) {
    parts.push(
      run.dryRun ? '#### Would copy\n\n' : '#### Copied\n\n',
      markdownTable(
        ['Source', 'Destination', 'Digest', 'Bytes'],
        moved.slice(0, SUMMARY_ROWS).map((r) => [r.source, r.destination, r.digest, formatBytes(r.bytes)])
      ),
      more(moved.length - SUMMARY_ROWS, 'pairs')
    )
  }
  if (leftOut.kept < leftOut.total) parts.push(`${leftOutNote(leftOut.kept, leftOut.total)}\n`)
  return parts.join('')
}

function more(count: number, what: string): string {
  return count > 0 ? `…and ${count} more ${what} (see the log).\n\n` : ''
}

/** Why the `mirrored` output is shorter than the run. */
export function leftOutNote(kept: number, total: number): string {
  return (
    `The mirrored output lists ${kept} of ${total} pairs (every failed one, then the others in order): ` +
    `${total - kept} left out to keep the step's outputs under GitHub's 1 MiB per job.`
  )
}
