/**
 * The credential sources of DESIGN §6, in order, for one run of the action: inputs, Helm's
 * registry config (for `oci://` references), the Docker config with its helpers, the workflow
 * token for ghcr.io. Anything not found is anonymous.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { helperRunner } from './credential-helper.js'
import { CredentialChain, StaticCredentials, type CredentialEntry, type CredentialStore } from './credentials.js'
import { DockerConfigCredentials } from './docker-config.js'
import { given } from '../words.js'

export const GHCR = 'ghcr.io'

/** Where Docker and Helm keep their configs, as the two tools find them. */
export function configPaths(env: NodeJS.ProcessEnv): { docker: string; helm: string } {
  const home = env.HOME || homedir()
  return {
    docker: join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json'),
    helm: env.HELM_REGISTRY_CONFIG || join(env.XDG_CONFIG_HOME || join(home, '.config'), 'helm', 'registry', 'config.json')
  }
}

/** The workflow token answers for ghcr.io, as the user who started the workflow. */
export function githubTokenCredentials(token: string, actor: string | undefined): CredentialStore {
  const credentials = { username: actor || 'github-actions', password: token, origin: given('githubToken') }
  return { get: (target) => Promise.resolve(token && target.registry === GHCR ? credentials : undefined) }
}

export function credentialChain(entries: readonly CredentialEntry[], githubToken: string, env: NodeJS.ProcessEnv): CredentialStore {
  const paths = configPaths(env)
  const runHelper = helperRunner(env)
  return new CredentialChain([
    new StaticCredentials(entries),
    new DockerConfigCredentials({ kind: 'Helm registry config', path: paths.helm, runHelper, ociOnly: true }),
    new DockerConfigCredentials({ kind: 'Docker config', path: paths.docker, runHelper }),
    githubTokenCredentials(githubToken, env.GITHUB_ACTOR)
  ])
}
