/**
 * One command run against registries, wired as the action wires it (src/main.ts): credentials
 * from the flags, the Docker config and Helm's, one connection pool, the engine, the result on
 * stdout. Returns the exit status: 0 done, 1 something failed.
 */
import type { RunRequest } from '../run-request.js'
import { secretsOf } from '../auth/credentials.js'
import type { ProgressEvent } from '../engine/events.js'
import { mirroredObject, resultRows, runMirror, type MirrorResult } from '../engine/mirror.js'
import type { MirrorConfig } from '../mirror/config.js'
import { describeEvent } from '../progress.js'
import { recordWritten, type WrittenReference } from '../outputs.js'
import { openRegistries, runCopy } from '../run-inputs.js'
import { Stores } from '../stores.js'
import { cliLogger, cliReporter, type Console, type ReporterOptions } from './console.js'
import { copyLines, copyOutputs, mirrorFailureLines, mirrorLines } from './output.js'
import type { ProgressView } from './progress.js'

export interface RunContext {
  inputs: RunRequest
  console: Console
  view: ProgressView
  options: ReporterOptions & { json: boolean }
  env: NodeJS.ProcessEnv
  /** Every reference written, as it is (from `tag-written` events): told even when the command fails later. */
  written: WrittenReference[]
}

export async function runCommand(context: RunContext): Promise<number> {
  const { inputs, console, view, options, env } = context
  for (const secret of inputs.secrets) console.addSecret(secret)
  for (const { credentials } of inputs.credentials) secretsOf(credentials).forEach((secret) => console.addSecret(secret))
  const logger = cliLogger(view, console, options)
  if (inputs.insecureSkipTLSVerify) logger.warning('--insecure-skip-tls-verify is set: TLS certificates are not verified for any registry')
  for (const notice of inputs.notices) logger.notice(notice)
  // The workflow token (the action's githubToken) is not read: ghcr.io logins come from the Docker config or the flags.
  const registries = openRegistries(inputs, '', env, logger)
  const stores = new Stores(registries)
  try {
    // The bundle is this run's even when its shard selects nothing: an empty one replaces an older file.
    if (inputs.mirror && inputs.bundle) await stores.target(inputs.bundle)
    if (inputs.mirror) return await mirror(stores, inputs.mirror, context)
    const reporter = cliReporter(view, console, options, copyEventLine)
    const result = await runCopy(stores, inputs, {
      ...reporter,
      event: (event) => (recordWritten(context.written, event), reporter.event(event))
    })
    // Archive files written go into place now that every copy is complete.
    if (!inputs.dryRun) await stores.commit()
    view.close()
    if (options.json) console.json(copyOutputs(result))
    else console.out(text(copyLines(result)))
    return 0
  } finally {
    view.close()
    await stores.discard()
    await registries.close()
  }
}

function text(lines: readonly string[]): string {
  return lines.map((line) => `${line}\n`).join('')
}

/** The events of one copy worth a line; a failure is said once, by the error the command ends with. */
function copyEventLine(event: ProgressEvent): string | undefined {
  return event.type === 'artifact-failed' ? undefined : describeEvent(event)
}

async function mirror(stores: Stores, config: MirrorConfig, context: RunContext): Promise<number> {
  const { inputs, console, view, options } = context
  const request = {
    config,
    ...(inputs.shard ? { shard: inputs.shard } : {}),
    dryRun: inputs.dryRun,
    failFast: inputs.failFast,
    concurrency: inputs.mirrorConcurrency,
    maxArtifactSize: inputs.maxArtifactSize,
    ...(inputs.bundle ? { bundle: inputs.bundle } : {})
  }
  const result: MirrorResult = await runMirror(request, {
    opener: stores,
    logger: cliLogger(view, console, options),
    reporterFor: (pair) => cliReporter(view, console, options, pairLine(pair, inputs.dryRun))
  })
  // A bundle goes into place only when every pair is in it: a failed run leaves none.
  if (mirrorFailureLines(result).length === 0 && !inputs.dryRun) await stores.commit()
  view.close()
  if (options.json) console.json(resultRows(result, config).map(mirroredObject))
  else console.out(text(mirrorLines(result)))
  const failures = mirrorFailureLines(result)
  if (failures.length === 0) return 0
  const pairs = result.rows.length + result.entryErrors.length
  console.err(text([`oci-push mirror: ${failures.length} of ${pairs} failed:`, ...failures.map((line) => `  ${line}`)]))
  return 1
}

/**
 * Pairs run several at once, so their event lines would interleave: each pair says one line, when
 * it ends (a failure in full at the end of the run).
 */
function pairLine(pair: { source: string; destination: string }, dryRun: boolean): (event: ProgressEvent) => string | undefined {
  let upToDate = false
  let tagged = false
  let referrers = false
  const name = `${pair.source} -> ${pair.destination}`
  return (event) => {
    if (event.type === 'skipped') upToDate = true
    if (event.type === 'tag-written') tagged = true
    if (event.type === 'referrer-copied') referrers = true
    if (event.type === 'artifact-failed') return `failed ${name}`
    if (event.type !== 'artifact-done') return undefined
    const outcome = upToDate ? 'up to date' : dryRun ? 'would copy' : referrers && !tagged ? 'new referrers for' : 'copied'
    return `${outcome} ${name} ${event.digest}`
  }
}
