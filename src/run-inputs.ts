/**
 * What the action and the CLI share once inputs are read (the CLI turns its flags into the
 * action's inputs): the registries with their credential chain, and the one copy, archive push
 * or package push the inputs ask for.
 */
import type { RunRequest } from './run-request.js'
import { credentialChain } from './auth/credential-sources.js'
import { copyArtifact } from './engine/copy-artifact.js'
import { pushArchives } from './engine/push-archives.js'
import { pushPackage } from './engine/push-package.js'
import type { CopyResult, Reporter } from './engine/request.js'
import type { Logger } from './log.js'
import { Registries } from './registry/registries.js'
import type { Stores } from './stores.js'

/** The registries of one run; `githubToken` answers for ghcr.io when nothing else does (empty: not used). */
export function openRegistries(inputs: RunRequest, githubToken: string, env: NodeJS.ProcessEnv, logger: Logger): Registries {
  return new Registries({
    credentials: credentialChain(inputs.credentials, githubToken, env),
    plainHttp: inputs.plainHttp,
    tls: { ...(inputs.caCert ? { caCert: inputs.caCert } : {}), insecureSkipVerify: inputs.insecureSkipTLSVerify },
    // Mirror pairs run side by side, each with its own blobs in flight: the pool holds them all.
    ...(inputs.mirror ? { copiesAtOnce: inputs.mirrorConcurrency } : {}),
    logger
  })
}

/** The copy, archive push or package push the inputs ask for; undefined when archives held no image. */
export function runCopy(stores: Stores, inputs: RunRequest, reporter: Reporter): Promise<CopyResult | undefined> {
  const common = {
    maxArtifactSize: inputs.maxArtifactSize,
    annotations: inputs.annotations,
    platforms: inputs.platforms,
    ociMediaTypes: inputs.ociMediaTypes,
    referrers: inputs.referrers
  }
  const run = { dryRun: inputs.dryRun }
  const { artifactType, subject, sourceDateEpoch, path, source, destinations } = inputs
  if (path) {
    const packaging = {
      ...(artifactType ? { artifactType } : {}),
      ...(subject ? { subject } : {}),
      ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {})
    }
    return pushPackage(stores, { ...common, ...packaging, path, destinations }, reporter, run)
  }
  if (source) return copyArtifact(stores, { ...common, source, destinations }, reporter, run)
  return pushArchives(stores, { ...common, archives: inputs.archives, destinations, prefixes: inputs.prefixes }, reporter, run)
}
