/**
 * The copy engine's entry point: {@link planCopy} (everything decided, nothing written), then
 * {@link executePlan}, or for a dry run the plan described. Reports `artifact-started`,
 * `artifact-done` or `artifact-failed` around the whole.
 */
import { formatEndpoint, type Endpoint } from '../endpoint.js'
import type { Opener } from '../storage.js'
import type { AheadLookup } from './placed-ahead.js'
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
    // aroundCopy tells it and throws it again.
    await aroundCopy(request, reporter, started, () => {
      report.replay(reporter)
      throw error
    })
    throw error
  }
}

/** Runs (or for a dry run, describes) a copy planned by {@link planArtifact}. */
export function runPlanned(planned: PlannedCopy, reporter: Reporter, options: RunOptions = {}): Promise<CopyResult> {
  return aroundCopy(planned.plan.request, reporter, planned.started, () => {
    planned.report.replay(reporter)
    return carryOut(planned.plan, reporter, options)
  })
}

export function copyArtifact(
  opener: Opener<Endpoint>,
  request: CopyRequest,
  reporter: Reporter,
  options: RunOptions = {}
): Promise<CopyResult> {
  return aroundCopy(request, reporter, Date.now(), async () => carryOut(await planCopy(opener, request, reporter), reporter, options))
}

/** A plan carried out, or for a dry run described. */
function carryOut(plan: CopyPlan, reporter: Reporter, options: RunOptions): Promise<CopyResult> {
  return options.dryRun ? Promise.resolve(describePlan(plan)) : executePlan(plan, reporter, options.ahead ? { ahead: options.ahead } : {})
}

/** The events around one copy: started, then done with its digest and time since `started`, or failed. */
async function aroundCopy(request: CopyRequest, reporter: Reporter, started: number, work: () => Promise<CopyResult>): Promise<CopyResult> {
  const source = formatEndpoint(request.source)
  reporter.event({ type: 'artifact-started', source, destinations: request.destinations.map(formatEndpoint) })
  try {
    const result = await work()
    result.seconds = (Date.now() - started) / 1000
    reporter.event({ type: 'artifact-done', source, digest: result.digest, seconds: result.seconds })
    return result
  } catch (error) {
    reporter.event({ type: 'artifact-failed', source, error: error instanceof Error ? error : new Error(String(error)) })
    throw error
  }
}
