/**
 * The copy engine's entry point: {@link planCopy} (everything decided, nothing written), then
 * {@link executePlan}, or for a dry run the plan described. Reports `artifact-started`,
 * `artifact-done` or `artifact-failed` around the whole.
 */
import { formatEndpoint, type Endpoint } from '../endpoint.js'
import type { Opener } from '../storage.js'
import type { AheadLookup } from './copy-graph.js'
import { describePlan, executePlan } from './execute.js'
import { planCopy, type CopyPlan } from './plan.js'
import type { CopyRequest, CopyResult, Reporter } from './request.js'

export { checkSizeLimit, sizeLimitApplies } from './plan.js'
export { PartialCopyError, type CopyRequest, type CopyResult, type PushedReference, type Reporter } from './request.js'

export interface RunOptions {
  /** Plan only: resolve, transform, check, and say what would be written; write nothing. */
  dryRun?: boolean
  /** Blobs placed before the copy was planned (a docker save's layers, `ahead-uploads.ts`). */
  ahead?: AheadLookup
}

/**
 * What a copy reports while it is planned, held back: a step that plans several copies before it
 * writes (every archive of a glob) reports each one's lines when that copy runs, inside its group.
 */
export class HeldReport implements Reporter {
  private held: Array<(reporter: Reporter) => void> = []

  constructor(private readonly out: Reporter) {}

  debug(message: string): void {
    this.held.push((r) => r.debug(message))
  }
  info(message: string): void {
    this.held.push((r) => r.info(message))
  }
  warning(message: string): void {
    this.held.push((r) => r.warning(message))
  }
  notice(message: string): void {
    this.held.push((r) => r.notice(message))
  }
  /** Masked at once: a secret must never wait. */
  secret(value: string): void {
    this.out.secret(value)
  }
  readonly event = (event: Parameters<Reporter['event']>[0]): void => {
    this.held.push((r) => r.event(event))
  }

  /** Tells `reporter` everything held, in order, and holds nothing more. */
  replay(reporter: Reporter): void {
    const held = this.held
    this.held = []
    for (const tell of held) tell(reporter)
  }
}

/**
 * A copy planned ahead of its run ({@link planCopy}, nothing written): several are planned before
 * the first writes, so a mistake in any of them fails the step with nothing written.
 */
export interface PlannedCopy {
  plan: CopyPlan
  /** What planning reported, told when the copy runs. */
  report: HeldReport
  started: number
}

export async function planArtifact(opener: Opener<Endpoint>, request: CopyRequest, reporter: Reporter): Promise<PlannedCopy> {
  const report = new HeldReport(reporter)
  const started = Date.now()
  try {
    return { plan: await planCopy(opener, request, report), report, started }
  } catch (error) {
    // The copy that failed to plan: its lines, in its group, with its failure.
    const source = formatEndpoint(request.source)
    reporter.event({ type: 'artifact-started', source, destinations: request.destinations.map(formatEndpoint) })
    report.replay(reporter)
    reporter.event({ type: 'artifact-failed', source, error: error instanceof Error ? error : new Error(String(error)) })
    throw error
  }
}

/** Runs (or for a dry run, describes) a copy planned by {@link planArtifact}. */
export async function runPlanned(planned: PlannedCopy, reporter: Reporter, options: RunOptions = {}): Promise<CopyResult> {
  const { plan, report } = planned
  const source = formatEndpoint(plan.request.source)
  reporter.event({ type: 'artifact-started', source, destinations: plan.request.destinations.map(formatEndpoint) })
  report.replay(reporter)
  try {
    const result = options.dryRun ? describePlan(plan) : await executePlan(plan, reporter, options.ahead ? { ahead: options.ahead } : {})
    result.seconds = (Date.now() - planned.started) / 1000
    reporter.event({ type: 'artifact-done', source, digest: result.digest, seconds: result.seconds })
    return result
  } catch (error) {
    reporter.event({ type: 'artifact-failed', source, error: error instanceof Error ? error : new Error(String(error)) })
    throw error
  }
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
