/** The action: inputs in, engine, outputs out. The one place that fails the step. */
import * as core from '@actions/core'
import { credentialChain } from './action/credential-sources.js'
import { parseInputs, type ActionInputs } from './action/inputs.js'
import { pushPackage } from './engine/push-package.js'
import type { Endpoint } from './endpoint.js'
import { setEmptyOutputs, setOutputs, writeFailureSummary, writeSummary } from './action/outputs.js'
import { pushArchives } from './engine/push-archives.js'
import { secretsOf } from './auth/credentials.js'
import { copyArtifact, PartialCopyError } from './engine/copy-artifact.js'
import { actionLogger as logger, actionReporter } from './action/report.js'
import { Registries } from './registry/registries.js'
import { Stores } from './stores.js'

/** The packaging inputs that were given. */
function packaging(inputs: ActionInputs): { artifactType?: string; subject?: Endpoint; sourceDateEpoch?: number } {
  const { artifactType, subject, sourceDateEpoch } = inputs
  return {
    ...(artifactType ? { artifactType } : {}),
    ...(subject ? { subject } : {}),
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {})
  }
}

export async function run(): Promise<void> {
  try {
    const inputs = parseInputs((name) => core.getInput(name), process.env)
    // Masked before anything else is written: credentials found later are masked as they are found.
    for (const secret of inputs.secrets) core.setSecret(secret)
    for (const { credentials } of inputs.credentials) secretsOf(credentials).forEach((secret) => core.setSecret(secret))
    if (inputs.insecureSkipTLSVerify) core.warning('insecureSkipTLSVerify is set: TLS certificates are not verified for any registry')
    const registries = new Registries({
      credentials: credentialChain(inputs.credentials, inputs.githubToken, process.env),
      plainHttp: inputs.plainHttp,
      tls: { ...(inputs.caCert ? { caCert: inputs.caCert } : {}), insecureSkipVerify: inputs.insecureSkipTLSVerify },
      logger
    })
    try {
      const stores = new Stores(registries)
      const common = {
        maxArtifactSize: inputs.maxArtifactSize,
        annotations: inputs.annotations,
        platforms: inputs.platforms,
        ociMediaTypes: inputs.ociMediaTypes,
        referrers: inputs.referrers
      }
      for (const notice of inputs.notices) core.notice(notice)
      const reporter = actionReporter()
      const result = inputs.path
        ? await pushPackage(stores, { ...common, ...packaging(inputs), path: inputs.path, destinations: inputs.destinations }, reporter)
        : inputs.source
          ? await copyArtifact(stores, { ...common, source: inputs.source, destinations: inputs.destinations }, reporter)
          : await pushArchives(
              stores,
              { ...common, archives: inputs.archives, destinations: inputs.destinations, prefixes: inputs.prefixes },
              reporter
            )
      if (result) {
        setOutputs(result)
        await writeSummary(result)
      } else {
        setEmptyOutputs()
      }
    } finally {
      await registries.close()
    }
  } catch (error) {
    if (error instanceof PartialCopyError) await writeFailureSummary(error.written)
    core.setFailed(error instanceof Error ? error.message : String(error))
  }
}
