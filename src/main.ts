/** The action: inputs in, engine, outputs out. The one place that fails the step. */
import * as core from '@actions/core'
import { parseRunRequest, type RunRequest } from './run-request.js'
import { MirrorFailedError, mirrorStep } from './action/mirror-step.js'
import { setCopyOutputs, setEmptyOutputs, setOutputs, writeSummary } from './action/outputs.js'
import { actionLogger as logger, actionReporter, inActionWords, withListener, writtenRecorder } from './action/report.js'
import { copySummary, failureSummary, type RunDescription } from './action/summary.js'
import { writtenOutputs, type WrittenReference } from './outputs.js'
import { secretsOf } from './auth/credentials.js'
import { formatEndpoint } from './endpoint.js'
import type { Reporter } from './engine/request.js'
import { formatPlatform } from './platform.js'
import { openRegistries, runCopy } from './run-inputs.js'
import { Stores } from './stores.js'

/** The source and platforms as the summary names them. */
function describeRun(inputs: RunRequest | undefined): RunDescription {
  if (!inputs) return { platforms: [], dryRun: false }
  const { mirror } = inputs
  const source = mirror
    ? `${mirror.file ?? 'inline config'}, ${mirror.entries.length} ${mirror.entries.length === 1 ? 'entry' : 'entries'}`
    : inputs.source
      ? formatEndpoint(inputs.source)
      : (inputs.path ?? inputs.archives.map((a) => (a.digest ? `${a.path}@${a.digest}` : a.path)).join(', '))
  return { source, platforms: inputs.platforms.map(formatPlatform), dryRun: inputs.dryRun }
}

/** One copy, archive push or package push; empty outputs when archives held no image. */
async function copyStep(stores: Stores, inputs: RunRequest, reporter: Reporter): Promise<void> {
  const result = await runCopy(stores, inputs, reporter)
  // Archive files written go into place now that every copy is complete.
  if (!inputs.dryRun) await stores.commit()
  if (result) {
    setOutputs(result)
    await writeSummary(copySummary(result, describeRun(inputs)))
  } else {
    setEmptyOutputs()
  }
}

export async function run(): Promise<void> {
  let inputs: RunRequest | undefined
  const written: WrittenReference[] = []
  try {
    inputs = parseRunRequest((name) => core.getInput(name), process.env)
    // Masked before anything else is written: credentials found later are masked as they are found.
    for (const secret of inputs.secrets) core.setSecret(secret)
    for (const { credentials } of inputs.credentials) secretsOf(credentials).forEach((secret) => core.setSecret(secret))
    if (inputs.insecureSkipTLSVerify) core.warning('insecureSkipTLSVerify is set: TLS certificates are not verified for any registry')
    const registries = openRegistries(inputs, inputs.githubToken, process.env, logger)
    const stores = new Stores(registries)
    try {
      for (const notice of inputs.notices) logger.notice(notice)
      if (inputs.mirror) {
        // The bundle is this step's even when its shard selects nothing: an empty one replaces an older file.
        if (inputs.bundle) await stores.target(inputs.bundle)
        await mirrorStep(stores, { ...inputs, mirror: inputs.mirror }, describeRun(inputs))
        // A bundle goes into place only when every pair is in it (a failed mirror throws first).
        if (!inputs.dryRun) await stores.commit()
      } else await copyStep(stores, inputs, withListener(actionReporter(), writtenRecorder(written)))
    } finally {
      await stores.discard()
      await registries.close()
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    // What was written before the failure is in place: the outputs say so, as the summary does.
    if (written.length > 0) setCopyOutputs(writtenOutputs(written))
    // A failed mirror has written its own summary, with every failure in it.
    if (!(error instanceof MirrorFailedError)) {
      await writeSummary(failureSummary(describeRun(inputs), message, written)).catch((cause: unknown) =>
        logger.warning(`the job summary could not be written: ${cause instanceof Error ? cause.message : String(cause)}`)
      )
    }
    core.setFailed(inActionWords(message))
  }
}
