/**
 * The commands of the `oci-push` CLI and their flags (DESIGN §10), as data: the parser, the
 * help text and the mapping from action inputs to flags are all read from here. Flags are the
 * action's inputs in kebab case (`ociMediaTypes` → `--oci-media-types`).
 */
import type { Words } from '../words.js'

export type CommandName = 'copy' | 'push' | 'package' | 'mirror'

export interface FlagSpec {
  type: 'string' | 'boolean'
  /** May be given several times (values kept in order). */
  multiple?: boolean
  short?: string
  /** The value's placeholder in help (`FILE`, `os/arch`). */
  value?: string
  help: string
  /** Known to the parser but refused (a password in argv) and left out of help. */
  refused?: string
}

export interface CommandSpec {
  name: CommandName
  /** What follows the command name in the usage line. */
  arguments: string
  summary: string
  /** Lines after the usage line: what the arguments are. */
  details: string[]
  flags: Record<string, FlagSpec>
  /**
   * Whom `--username` logs in to, in this command's words. A command that reads from a registry
   * of its own (copy's SRC, mirror's sources) also takes `--src-username`; one that reads only
   * files (push) or the subject on the destination's registry (package) does not.
   */
  login: { username: string; source: boolean }
  /** Command lines shown in help, each with what it does; a test parses every one. */
  examples: Array<{ line: string; does: string }>
}

const annotation: FlagSpec = {
  type: 'string',
  multiple: true,
  value: 'k=v',
  help: 'add an annotation (repeat for more); scopes as BuildKit writes them: index:, manifest:, manifest[linux/arm64]:, manifest-descriptor:'
}
const platform: FlagSpec = {
  type: 'string',
  multiple: true,
  value: 'os/arch',
  help: 'copy only this platform of an index (repeat, or comma separated); one platform copies that image manifest as it is'
}
const referrers: FlagSpec = { type: 'boolean', help: 'also copy what refers to the source (signatures, SBOMs, attestations)' }
const ociMediaTypes: FlagSpec = { type: 'boolean', help: 'convert Docker v2 manifests and lists to OCI media types (blobs untouched)' }
const dryRun: FlagSpec = { type: 'boolean', help: 'plan everything and say what would be written; write nothing' }

const refusedPassword = (stdinFlag: string): FlagSpec => ({
  type: 'string',
  help: '',
  refused: `a password in the command line is seen by other users and kept in shell history; pipe it with ${stdinFlag}`
})

/** The password for `--username`, taken by every command (whose `login` says what `--username` is for). */
const LOGIN_FLAGS: Record<string, FlagSpec> = {
  'password-stdin': { type: 'boolean', help: 'read the password or token for --username from stdin (as docker login does)' },
  password: refusedPassword('--password-stdin')
}

/** How registries are reached, taken by every command. */
const ACCESS_FLAGS: Record<string, FlagSpec> = {
  'ca-cert': { type: 'string', value: 'FILE', help: 'PEM certificates of a private CA, trusted besides the system roots' },
  'insecure-skip-tls-verify': { type: 'boolean', help: 'accept any TLS certificate from every registry (prefer --ca-cert)' },
  'plain-http': { type: 'boolean', help: 'plain HTTP to every registry (loopback registries use it anyway)' },
  'max-size': {
    type: 'string',
    value: 'SIZE',
    help: 'largest artifact copied from one registry repository to another (1GiB, 500MB, bytes; 0 refuses, -1 no limit); default $MAX_OCI_PUSH_ARTIFACT_SIZE, else 1GiB'
  }
}

/** A login for the registry read from, for the commands that read one (`login.source`). */
const SOURCE_ACCESS_FLAGS: Record<string, FlagSpec> = {
  'src-username': { type: 'string', value: 'NAME', help: 'user for the source registry (mirror: its sources must be on one registry)' },
  'src-password-stdin': { type: 'boolean', help: 'read the password for --src-username from stdin (only one secret can come on stdin)' },
  'src-password': refusedPassword('--src-password-stdin')
}

/** What is printed, and where. */
const OUTPUT_FLAGS: Record<string, FlagSpec> = {
  json: { type: 'boolean', help: "print the result on stdout as JSON (the action's outputs)" },
  quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr; warnings and errors only' },
  debug: { type: 'boolean', help: "every request and where each registry's credentials came from, on stderr (never a secret)" },
  help: { type: 'boolean', short: 'h', help: 'this help' }
}

export const COMMANDS: Record<CommandName, CommandSpec> = {
  copy: {
    name: 'copy',
    arguments: 'SRC DEST...',
    summary: 'copy an image, index or chart to one or more destinations, byte for byte',
    details: [
      'SRC   a registry reference [host[:port]/]repo[:tag][@sha256:...] (no tag: latest; oci:// accepted)',
      '      or a local OCI layout directory ./dir[:tag|@sha256:...]',
      "DEST  registry references or layout directories; without a tag the source's tag is kept"
    ],
    flags: { annotation, platform, referrers, 'oci-media-types': ociMediaTypes, 'dry-run': dryRun },
    login: {
      username: 'user for the destination registries (and the source when it is on one of them and --src-username is not given)',
      source: true
    },
    examples: [
      {
        line: 'oci-push copy ghcr.io/org/app:sha-abc ghcr.io/org/app:v1.2.3 ghcr.io/org/app:latest',
        does: 'retag a build for a release (same repository: manifests only)'
      },
      {
        line: 'oci-push copy staging.example.com/app:v1 prod.example.com/app:v1 --platform linux/amd64 --referrers',
        does: 'promote one platform across registries, with its signatures and SBOMs'
      }
    ]
  },
  push: {
    name: 'push',
    arguments: 'ARCHIVE... --to DEST',
    summary: 'push what docker save, podman save, skopeo, buildah or crane wrote: tarballs (.tar, .tar.gz) or OCI layout directories',
    details: [
      'ARCHIVE  a tarball or layout directory, recognised by content; ARCHIVE@sha256:... picks one image',
      "DEST     with a tag: the one image's name; without: each image's own tag goes there;",
      '         ending in /: a prefix under which each image keeps its own repository path'
    ],
    flags: {
      to: { type: 'string', multiple: true, value: 'DEST', help: 'where to push (repeat for more); required' },
      annotation,
      platform,
      'oci-media-types': ociMediaTypes,
      'dry-run': dryRun
    },
    login: { username: 'user for the destination registries', source: false },
    examples: [
      { line: 'oci-push push image.tar --to ghcr.io/org/app:v1', does: 'push what docker save wrote, under a new name' },
      {
        line: 'oci-push push images.oci.tar --to registry.example.com/mirror/',
        does: 'push every image of an archive under a prefix, each keeping its name'
      }
    ]
  },
  package: {
    name: 'package',
    arguments: 'PATH [DEST...]',
    summary: 'package a directory, a file or a Helm chart as an OCI artifact and push it (reproducible: same content, same digest)',
    details: [
      'PATH  a directory, a file, a Helm chart directory or a packaged chart .tgz, recognised by content',
      'DEST  where to push: the repository itself, and a chart without a tag goes under its version;',
      '      for a chart, oci://host/path without a tag is read as helm push reads it: host/path/NAME:VERSION;',
      "      no DEST with --subject: the subject's repository"
    ],
    flags: {
      'artifact-type': {
        type: 'string',
        value: 'TYPE',
        help: "the manifest's artifactType (a media type); required for a directory or a file"
      },
      subject: { type: 'string', value: 'REF', help: 'push the artifact as an OCI 1.1 referrer of this manifest' },
      annotation,
      'dry-run': dryRun
    },
    login: { username: 'user for the destination registries (and the --subject registry when it is one of them)', source: false },
    examples: [
      {
        line: 'oci-push package ./mychart oci://ghcr.io/org/charts',
        does: 'push a Helm chart as helm push does, to ghcr.io/org/charts/mychart:<version>'
      },
      {
        line: 'oci-push package sbom.spdx.json --artifact-type application/spdx+json --subject ghcr.io/org/app:v1',
        does: 'attach an SBOM to an image as an OCI 1.1 referrer'
      }
    ]
  },
  mirror: {
    name: 'mirror',
    arguments: 'FILE',
    summary: 'mirror the repositories a YAML or JSON file lists: tags selected, up-to-date tags skipped with two HEADs',
    details: [
      "FILE  a .yml, .yaml or .json mirror config (defaults, mirrors: [{source, destination, tags, ...}]), as the action's mirror input"
    ],
    flags: {
      shard: { type: 'string', value: 'i/n', help: 'copy only shard i of n (i from 0) of the (tag, destination) pairs' },
      'dry-run': dryRun,
      'fail-fast': { type: 'boolean', help: 'stop at the first failed pair (default: finish the others, then fail listing all)' },
      'mirror-concurrency': { type: 'string', value: 'N', help: 'pairs in flight at once (default 4)' },
      bundle: { type: 'string', value: 'FILE', help: 'write every pair into this archive (.tar, .tar.gz, .tgz) instead of registries' }
    },
    login: {
      username: 'user for the destination registries (and the sources when on one of them and --src-username is not given)',
      source: true
    },
    examples: [
      { line: 'oci-push mirror mirror.yml --dry-run', does: 'say which tags would be copied, copy nothing' },
      { line: 'oci-push mirror mirror.yml --shard 0/4 --fail-fast', does: 'copy the first of four shards, stopping at the first failure' }
    ]
  }
}

export interface FlagGroup {
  title: string
  flags: Record<string, FlagSpec>
}

/** The flags a command takes, grouped as its help shows them: the parser and the help both read this. */
export function flagGroups(command: CommandName): FlagGroup[] {
  const { flags, login } = COMMANDS[command]
  const username: FlagSpec = { type: 'string', short: 'u', value: 'NAME', help: login.username }
  return [
    { title: 'Flags', flags },
    { title: 'Registry access', flags: { username, ...LOGIN_FLAGS, ...(login.source ? SOURCE_ACCESS_FLAGS : {}), ...ACCESS_FLAGS } },
    { title: 'Output', flags: OUTPUT_FLAGS }
  ]
}

/** Every flag a command takes: its own, registry access, output. */
export function flagsOf(command: CommandName): Record<string, FlagSpec> {
  return Object.assign({}, ...flagGroups(command).map((group) => group.flags)) as Record<string, FlagSpec>
}

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name)
}

/** The flag or argument an action input stands for in a command, for messages. */
export function flagForInput(command: CommandName, input: string): string {
  const special: Record<string, string> = {
    srcRef: 'SRC',
    destRef: command === 'push' ? '--to' : 'DEST',
    archive: 'ARCHIVE',
    path: 'PATH',
    mirror: 'FILE',
    annotations: '--annotation',
    platforms: '--platform',
    password: '--password-stdin',
    srcPassword: '--src-password-stdin',
    maxArtifactSize: '--max-size',
    insecureSkipTLSVerify: '--insecure-skip-tls-verify',
    mirrorConcurrency: '--mirror-concurrency'
  }
  if (Object.hasOwn(special, input)) return special[input]
  // Environment variables (SOURCE_DATE_EPOCH, MAX_OCI_PUSH_ARTIFACT_SIZE) keep their names.
  if (/^[A-Z][A-Z0-9_]*$/.test(input)) return input
  return `--${input.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
}

/**
 * The CLI's words for the shared code's messages (words.ts): parameters as this command's flags and
 * arguments (`--plain-http`, `--max-size 0`, `DEST`), a list's item as its flag's occurrence
 * (`--annotation #2`), and `docker login` where the action says docker/login-action.
 */
export function cliWords(command: CommandName | undefined): Words {
  const flag = (name: string) => flagForInput(command ?? 'copy', name)
  return {
    param: (name, value) => {
      const said = flag(name)
      if (value === undefined || !said.startsWith('--')) return said
      return value === 'true' ? said : `${said} ${value}`
    },
    item: (name, index) => `${flag(name)} #${index}`,
    given: (name) => flag(name),
    phrase: (name) => ({ 'login-first': 'log in to it first with docker login' })[name]
  }
}
