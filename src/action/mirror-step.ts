/**
 * The action's `mirror` run: the engine's {@link runMirror} with a buffered log group per pair
 * and one progress meter for the run, then the `mirrored` output and the summary. A failed pair
 * does not stop the others; the step fails afterwards, naming every one.
 */
import type { Endpoint } from '../endpoint.js'
import { resultRows, runMirror, type MirrorResult } from '../engine/mirror.js'
import type { MirrorConfig } from '../mirror/config.js'
import { ProgressMeter, progressInterval } from '../progress.js'
import { repositoryName } from '../reference.js'
import { formatBytes } from '../size.js'
import type { Opener } from '../storage.js'
import type { RunRequest } from '../run-request.js'
import { MirrorLog } from './mirror-report.js'
import { setMirrorOutputs, writeSummary } from './outputs.js'
import { actionGroupedLog, actionLogger, info } from './report.js'
import { countRows } from '../outputs.js'
import { leftOutNote, mirrorFailures, mirrorSummary, type MirrorFailure, type RunDescription } from './summary.js'

/** Pairs or entries failed: the outputs and summary are written, the step fails with this. */
export class MirrorFailedError extends Error {
  constructor(readonly failures: readonly MirrorFailure[]) {
    const lines = failures.map((f) => `${f.source} → ${f.destination}: ${f.error}`)
    super(`mirror: ${failures.length} failed:\n${lines.join('\n')}`)
    this.name = 'MirrorFailedError'
  }
}

export async function mirrorStep(
  opener: Opener<Endpoint>,
  inputs: RunRequest & { mirror: MirrorConfig },
  run: RunDescription
): Promise<void> {
  const log = new MirrorLog(actionGroupedLog, new ProgressMeter(progressInterval(process.env)), inputs.dryRun)
  const request = {
    config: inputs.mirror,
    ...(inputs.shard ? { shard: inputs.shard } : {}),
    dryRun: inputs.dryRun,
    failFast: inputs.failFast,
    concurrency: inputs.mirrorConcurrency,
    maxArtifactSize: inputs.maxArtifactSize,
    ...(inputs.bundle ? { bundle: inputs.bundle } : {})
  }
  let result: MirrorResult
  try {
    result = await runMirror(request, { opener, logger: actionLogger, reporterFor: (pair) => log.reporterFor(pair) })
  } finally {
    log.flush()
  }
  info(describeResult(result))
  const listed = setMirrorOutputs(resultRows(result, inputs.mirror))
  if (listed.kept < listed.total) actionLogger.notice(leftOutNote(listed.kept, listed.total))
  const failures = mirrorFailures(result, (entry) => {
    const destination = inputs.mirror.entries[entry - 1]?.destination
    return destination ? repositoryName(destination) : ''
  })
  await writeSummary(mirrorSummary(result, run, failures, listed))
  if (failures.length > 0) throw new MirrorFailedError(failures)
}

/** One line for the log: `Mirror: 3 copied, 5 up to date, 1 failed; 12.0 MiB in 4.2 s`. */
function describeResult(result: MirrorResult): string {
  const counts = countRows(result.rows)
  const parts = [
    counts.copied > 0 && `${counts.copied} copied`,
    counts.planned > 0 && `${counts.planned} to copy`,
    `${counts.skipped} up to date`,
    counts.referrers > 0 && `${counts.referrers} up to date with new referrers`,
    counts.notStarted > 0 && `${counts.notStarted} not started (failFast)`,
    counts.failed + result.entryErrors.length > 0 && `${counts.failed + result.entryErrors.length} failed`
  ].filter(Boolean)
  return `Mirror: ${parts.join(', ')}; ${formatBytes(counts.bytes)} in ${result.seconds.toFixed(1)} s`
}
