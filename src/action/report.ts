/**
 * The engine's events in a workflow log (DESIGN §7): a log group per artifact, its lines inside,
 * and a progress line at most every 5 s during long transfers.
 */
import * as core from '@actions/core'
import type { EventSink } from '../engine/events.js'
import { logLine } from '../escape.js'
import type { Reporter } from '../engine/request.js'
import type { Logger } from '../log.js'
import { describeEvent, progressInterval, ProgressMeter } from '../progress.js'
import type { GroupedLog } from './mirror-report.js'
import type { WrittenReference } from './summary.js'

/**
 * A line on the step's stdout, where the runner reads workflow commands: one line, nothing a
 * runner takes for a command, whatever a tag, a registry's message or a file name held.
 */
export function info(line: string): void {
  core.info(logLine(line))
}

export const actionLogger: Logger = {
  debug: core.debug,
  info,
  warning: core.warning,
  notice: core.notice,
  secret: core.setSecret
}

/** The action's log with its groups, for the mirror's buffered pairs. */
export const actionGroupedLog: GroupedLog = { ...actionLogger, startGroup: core.startGroup, endGroup: core.endGroup }

/** Lines of one artifact inside a log group, opened when it starts and closed when it ends. */
export function actionReporter(meter: ProgressMeter = new ProgressMeter(progressInterval(process.env))): Reporter {
  return {
    ...actionLogger,
    event(event) {
      meter.observe(event)
      const line = describeEvent(event)
      if (event.type === 'artifact-started') core.startGroup(line ?? event.source)
      else if (line) info(line)
      if (event.type === 'artifact-done' || event.type === 'artifact-failed') core.endGroup()
      const progress = meter.line()
      if (progress) info(progress)
    }
  }
}

/** The same reporter, also telling `listener` every event. */
export function withListener(reporter: Reporter, listener: EventSink): Reporter {
  return {
    ...reporter,
    event(event) {
      listener(event)
      reporter.event(event)
    }
  }
}

/** Collects every reference written (from `tag-written` events), for a summary after a failure. */
export function writtenRecorder(written: WrittenReference[]): EventSink {
  return (event) => {
    if (event.type === 'tag-written') written.push({ ref: event.ref, digest: event.digest, how: event.how })
  }
}
