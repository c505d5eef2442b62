/**
 * The engine's events in a workflow log (DESIGN §7): a log group per artifact, its lines inside,
 * and a progress line at most every 5 s during long transfers.
 */
import * as core from '@actions/core'
import type { Reporter } from '../engine/request.js'
import type { Logger } from '../log.js'
import { describeEvent, ProgressMeter } from '../progress.js'

export const actionLogger: Logger = {
  debug: core.debug,
  info: core.info,
  warning: core.warning,
  notice: core.notice,
  secret: core.setSecret
}

/** Seconds between progress lines: 5, or `OCI_PUSH_PROGRESS_INTERVAL` (seconds, for a busier log). */
export function progressInterval(env: NodeJS.ProcessEnv): number {
  const seconds = Number(env.OCI_PUSH_PROGRESS_INTERVAL)
  return Number.isFinite(seconds) && seconds >= 0 && env.OCI_PUSH_PROGRESS_INTERVAL !== '' ? seconds * 1000 : 5000
}

/** Lines of one artifact inside a log group, opened when it starts and closed when it ends. */
export function actionReporter(meter: ProgressMeter = new ProgressMeter(progressInterval(process.env))): Reporter {
  return {
    ...actionLogger,
    event(event) {
      meter.observe(event)
      const line = describeEvent(event)
      if (event.type === 'artifact-started') core.startGroup(line ?? event.source)
      else if (line) core.info(line)
      if (event.type === 'artifact-done' || event.type === 'artifact-failed') core.endGroup()
      const progress = meter.line()
      if (progress) core.info(progress)
    }
  }
}
