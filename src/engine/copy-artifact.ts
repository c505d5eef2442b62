/**
 * The copy engine's entry point: {@link planCopy} (everything decided, nothing written), then
 * {@link executePlan}, or for a dry run the plan described. Reports `artifact-started`,
 * `artifact-done` or `artifact-failed` around the whole.
 */
import { formatEndpoint, type Endpoint } from '../endpoint.js'
import type { Opener } from '../storage.js'
import type { AheadLookup } from './copy-graph.js'
import { describePlan, executePlan } from './execute.js'
import { planCopy } from './plan.js'
import type { CopyRequest, CopyResult, Reporter } from './request.js'

export { checkSizeLimit, sizeLimitApplies } from './plan.js'
export { PartialCopyError, type CopyRequest, type CopyResult, type PushedReference, type Reporter } from './request.js'

export interface RunOptions {
  /** Plan only: resolve, transform, check, and say what would be written; write nothing. */
  dryRun?: boolean
  /** Blobs placed before the copy was planned (a docker save's layers, `ahead-uploads.ts`). */
  ahead?: AheadLookup
}

export async function copyArtifact(
  opener: Opener<Endpoint>,
  request: CopyRequest,
  reporter: Reporter,
  options: RunOptions = {}
): Promise<CopyResult> {
  const started = Date.now()
  const source = formatEndpoint(request.source)
  reporter.event({ type: 'artifact-started', source, destinations: request.destinations.map(formatEndpoint) })
  try {
    const plan = await planCopy(opener, request, reporter)
    const result = options.dryRun ? describePlan(plan) : await executePlan(plan, reporter, options.ahead ? { ahead: options.ahead } : {})
    result.seconds = (Date.now() - started) / 1000
    reporter.event({ type: 'artifact-done', source, digest: result.digest, seconds: result.seconds })
    return result
  } catch (error) {
    reporter.event({ type: 'artifact-failed', source, error: error instanceof Error ? error : new Error(String(error)) })
    throw error
  }
}
