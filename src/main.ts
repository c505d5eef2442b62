/** The action: inputs in, engine, outputs out. The one place that fails the step. */
import * as core from '@actions/core'
import { StaticCredentials } from './auth/credentials.js'
import { parseInputs } from './action/inputs.js'
import { setOutputs, writeSummary } from './action/outputs.js'
import { copyArtifact } from './copy/copy-artifact.js'
import type { Logger } from './log.js'
import { Registries } from './registry/registries.js'

const logger: Logger = { debug: core.debug, info: core.info, warning: core.warning }

export async function run(): Promise<void> {
  try {
    const inputs = parseInputs((name) => core.getInput(name), process.env)
    for (const secret of inputs.secrets) core.setSecret(secret)
    for (const { credentials } of inputs.credentials) {
      core.setSecret(Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64'))
    }
    const registries = new Registries({ credentials: new StaticCredentials(inputs.credentials), plainHttp: inputs.plainHttp, logger })
    try {
      const result = await copyArtifact(
        registries,
        { source: inputs.source, destinations: inputs.destinations, maxArtifactSize: inputs.maxArtifactSize },
        logger
      )
      setOutputs(result)
      await writeSummary(result)
    } finally {
      await registries.close()
    }
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error))
  }
}
