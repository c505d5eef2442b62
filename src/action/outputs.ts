/** Step outputs and the job summary file, from the engine's results. */
import * as core from '@actions/core'
import type { CopyResult } from '../engine/copy-artifact.js'
import { mirroredObject, type MirrorRow } from '../engine/mirror.js'
import { copyOutputs, type CopyOutputs } from '../outputs.js'
import { inActionWords } from './report.js'

const COPY_OUTPUTS = ['image', 'digest', 'tag', 'mediaType', 'size'] as const

export function setOutputs(result: CopyResult): void {
  setCopyOutputs(copyOutputs(result))
}

export function setCopyOutputs(outputs: CopyOutputs): void {
  for (const name of COPY_OUTPUTS) core.setOutput(name, String(outputs[name]))
  core.setOutput('pushed', JSON.stringify(outputs.pushed))
}

/** Nothing was pushed (archives that held no image, or a mirror): every copy output set, empty. */
export function setEmptyOutputs(): void {
  for (const name of COPY_OUTPUTS) core.setOutput(name, '')
  core.setOutput('pushed', '[]')
}

/** GitHub keeps 1 MiB of outputs per job: the `mirrored` output stays within these. */
export const MIRRORED_MAX_ROWS = 2000
export const MIRRORED_MAX_BYTES = 768 * 1024

/**
 * The rows the `mirrored` output keeps: every failed row first (as long as the byte budget
 * lasts), then the others in order up to `maxRows` in all; kept rows stay in the run's order.
 */
export function capRows(rows: readonly MirrorRow[], maxRows = MIRRORED_MAX_ROWS, maxBytes = MIRRORED_MAX_BYTES): MirrorRow[] {
  const keep = new Set<number>()
  let bytes = 2
  const take = (index: number): boolean => {
    const size = Buffer.byteLength(JSON.stringify(mirroredObject(rows[index]))) + 1
    if (bytes + size > maxBytes) return false
    bytes += size
    keep.add(index)
    return true
  }
  rows.forEach((row, i) => row.status === 'failed' && take(i))
  for (let i = 0; i < rows.length && keep.size < maxRows; i++) if (rows[i].status !== 'failed' && !take(i)) break
  return rows.filter((_, i) => keep.has(i))
}

/** Sets `mirrored` (capped) and empties the single-copy outputs; says how many rows were kept. */
export function setMirrorOutputs(rows: readonly MirrorRow[]): { kept: number; total: number } {
  setEmptyOutputs()
  const kept = capRows(rows)
  core.setOutput('mirrored', inActionWords(JSON.stringify(kept.map(mirroredObject))))
  return { kept: kept.length, total: rows.length }
}

/** Appends Markdown to the job summary; outside a runner (a local run) there is no summary file. */
export async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  await core.summary.addRaw(inActionWords(markdown)).write()
}
