/**
 * The engine's events in a workflow log (DESIGN §7): a log group per artifact, its lines inside,
 * and a progress line at most every 5 s during long transfers.
 */
import * as core from '@actions/core'
import type { EventSink } from '../engine/events.js'
import { logLine } from '../escape.js'
import { ACTION_WORDS, inWords } from '../words.js'
import type { Reporter } from '../engine/request.js'
import type { Logger } from '../log.js'
import { describeEvent, progressInterval, ProgressMeter } from '../progress.js'
import type { GroupedLog } from './mirror-report.js'
import { recordWritten, type WrittenReference } from '../outputs.js'

/**
 * A line on the step's stdout, where the runner reads workflow commands: one line, nothing a
 * runner takes for a command, whatever a tag, a registry's message or a file name held.
 */
export function info(line: string): void {
  core.info(logLine(inActionWords(line)))
}

/** Text made by the shared code, its parameters named as this action's inputs (words.ts). */
export function inActionWords(text: string): string {
  return inWords(text, ACTION_WORDS)
}

export const actionLogger: Logger = {
  debug: (message) => core.debug(inActionWords(message)),
  info,
  warning: (message) => core.warning(inActionWords(message)),
  notice: (message) => core.notice(inActionWords(message)),
  secret: core.setSecret
}

/** The action's log with its groups, for the mirror's buffered pairs. */
export const actionGroupedLog: GroupedLog = {
  ...actionLogger,
  startGroup: (title) => core.startGroup(inActionWords(title)),
  endGroup: core.endGroup
}

/** Lines of one artifact inside a log group, opened when it starts and closed when it ends. */
export function actionReporter(meter: ProgressMeter = new ProgressMeter(progressInterval(process.env))): Reporter {
  return {
    ...actionLogger,
    event(event) {
      meter.observe(event)
      const line = describeEvent(event)
      if (event.type === 'artifact-started') core.startGroup(inActionWords(line ?? event.source))
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
    recordWritten(written, event)
  }
}
