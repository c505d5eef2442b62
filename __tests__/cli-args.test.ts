/** The CLI's pure parts: the command line read, errors named after flags, secrets masked, results printed. */
import { describe, expect, test } from '@jest/globals'
import { parseCommandLine, UsageError } from '../src/cli/args.js'
import { COMMANDS, flagForInput, flagsOf, type CommandName } from '../src/cli/commands.js'
import { Console } from '../src/cli/console.js'
import { commandHelp } from '../src/cli/help.js'
import { copyLines, copyOutputs, mirrorFailureLines, mirrorLines } from '../src/cli/output.js'
import { mirroredObject } from '../src/engine/mirror.js'
import { emptyStats } from '../src/engine/events.js'
import type { MirrorResult } from '../src/engine/mirror.js'
import type { CopyResult } from '../src/engine/request.js'

const DIGEST = `sha256:${'c3'.repeat(32)}`
const INDEX = 'application/vnd.oci.image.index.v1+json'

describe('parseCommandLine', () => {
  test('a copy: arguments in order, repeated flags kept in order, booleans by presence', () => {
    const line = parseCommandLine([
      'copy',
      'src/app:v1',
      'dest/app:v1',
      'dest/app:latest',
      '--platform',
      'linux/amd64',
      '--platform=linux/arm64',
      '--annotation',
      'a=b=c',
      '--dry-run',
      '-u',
      'me',
      '--password-stdin'
    ])
    if (line.kind !== 'run') throw new Error(`expected a run, got ${line.kind}`)
    expect(line.command).toBe('copy')
    expect(line.args).toEqual(['src/app:v1', 'dest/app:v1', 'dest/app:latest'])
    expect(line.flags.values('platform')).toEqual(['linux/amd64', 'linux/arm64'])
    expect(line.flags.values('annotation')).toEqual(['a=b=c'])
    expect(line.flags.value('username')).toBe('me')
    expect(line.flags.has('dry-run')).toBe(true)
    expect(line.flags.has('password-stdin')).toBe(true)
    expect(line.flags.has('referrers')).toBe(false)
  })

  test.each([
    [['--help'], { kind: 'help' }],
    [['-h'], { kind: 'help' }],
    [['help'], { kind: 'help' }],
    [['help', 'mirror'], { kind: 'help', command: 'mirror' }],
    [['push', '--help'], { kind: 'help', command: 'push' }],
    // Help wins over anything else on the line, even a mistake.
    [['copy', '--frob', '-h'], { kind: 'help', command: 'copy' }],
    [['--version'], { kind: 'version' }]
  ])('%j is %j', (argv, expected) => {
    expect(parseCommandLine(argv)).toEqual(expected)
  })

  test.each([
    [[], 'COMMAND', /^missing/],
    [['--json'], '--json', /^unknown option before the command/],
    [['cp', 'a', 'b'], 'cp', /^is not a command/],
    [['help', 'cp'], 'cp', /^is not a command/],
    [['copy', 'a'], 'DEST', /^missing/],
    [['copy', 'a', 'b', '--to', 'c'], '--to', /^unknown option$/],
    [['copy', 'a', 'b', '-x'], '-x', /^unknown option$/],
    [['copy', 'a', 'b', '--src-password', 'p'], '--src-password', /pipe it with --src-password-stdin$/],
    [['copy', 'a', 'b', '--referrers=true'], '--referrers', /^takes no value$/],
    [['copy', 'a', 'b', '--max-size'], '--max-size', /^needs a value \(SIZE\)$/],
    [['copy', 'a', 'b', '--username', '--password-stdin'], '--username', /^needs a value, not the option --password-stdin/],
    [['push', 'x.tar'], '--to', /^missing/],
    [['push', '--to', 'reg/app'], 'ARCHIVE', /^missing/],
    [['package'], 'PATH', /^missing/],
    [['package', './dir'], 'DEST', /--subject/],
    [['mirror', 'a.yml', 'b.yml'], 'b.yml', /^unexpected argument/],
    [['mirror', 'a.yml', '--platform', 'linux/amd64'], '--platform', /^unknown option$/]
  ])('%j is a usage error naming %s', (argv, argument, problem) => {
    let error: unknown
    try {
      parseCommandLine(argv)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).argument).toBe(argument)
    expect((error as UsageError).problem).toMatch(problem)
  })

  test('a package with --subject needs no DEST; a value may start with - when written with =', () => {
    const line = parseCommandLine(['package', './sbom.json', '--subject', 'reg/app:v1', '--artifact-type=-odd'])
    expect(line).toMatchObject({ kind: 'run', args: ['./sbom.json'] })
    if (line.kind === 'run') expect(line.flags.value('artifact-type')).toBe('-odd')
  })

  test('a negative number is a value, as --max-size -1 (no limit) needs', () => {
    const line = parseCommandLine(['copy', 'a', 'b', '--max-size', '-1'])
    expect(line).toMatchObject({ kind: 'run', args: ['a', 'b'] })
    if (line.kind === 'run') expect(line.flags.value('max-size')).toBe('-1')
  })
})

describe('flags and inputs', () => {
  test.each<[CommandName, string, string]>([
    ['copy', 'srcRef', 'SRC'],
    ['copy', 'destRef', 'DEST'],
    ['push', 'destRef', '--to'],
    ['push', 'archive', 'ARCHIVE'],
    ['package', 'path', 'PATH'],
    ['mirror', 'mirror', 'FILE'],
    ['copy', 'platforms', '--platform'],
    ['copy', 'annotations', '--annotation'],
    ['copy', 'password', '--password-stdin'],
    ['copy', 'srcUsername', '--src-username'],
    ['copy', 'maxArtifactSize', '--max-size'],
    ['copy', 'insecureSkipTLSVerify', '--insecure-skip-tls-verify'],
    ['copy', 'caCert', '--ca-cert'],
    ['copy', 'ociMediaTypes', '--oci-media-types'],
    ['package', 'artifactType', '--artifact-type'],
    ['mirror', 'mirrorConcurrency', '--mirror-concurrency'],
    ['mirror', 'shard', '--shard'],
    ['copy', 'MAX_OCI_PUSH_ARTIFACT_SIZE', 'MAX_OCI_PUSH_ARTIFACT_SIZE']
  ])('%s: the input %s is %s', (command, input, flag) => {
    expect(flagForInput(command, input)).toBe(flag)
  })

  test.each(Object.keys(COMMANDS) as CommandName[])('every flag of %s is in its help, except the refused ones', (command) => {
    const help = commandHelp(command)
    for (const [name, spec] of Object.entries(flagsOf(command))) {
      if (spec.refused) expect(help).not.toContain(`--${name} `)
      else expect(help).toContain(`--${name}`)
    }
  })
})

describe('Console', () => {
  test('every secret is masked on stdout and stderr, a longer one whole', () => {
    const out: string[] = []
    const err: string[] = []
    const console = new Console({ write: (t: string) => out.push(t) }, { write: (t: string) => err.push(t) })
    console.addSecret('s3cret')
    console.addSecret('s3cret-and-more')
    console.addSecret('')
    console.out('token s3cret-and-more\n')
    console.err('password s3cret, again s3cret\n')
    expect(out).toEqual(['token ***\n'])
    expect(err).toEqual(['password ***, again ***\n'])
  })
})

function copyResult(overrides: Partial<CopyResult> = {}): CopyResult {
  return {
    digest: DIGEST,
    mediaType: INDEX,
    size: 500,
    pushed: [
      { ref: `reg/app@${DIGEST}`, digest: DIGEST, mediaType: INDEX, size: 500 },
      { ref: 'reg/app:v1', tag: 'v1', digest: DIGEST, mediaType: INDEX, size: 500 }
    ],
    rewritten: [],
    referrers: [],
    stats: { ...emptyStats(), blobsUploaded: 3, bytesUploaded: 3 * 1024 * 1024, blobsMounted: 1 },
    seconds: 1.25,
    ...overrides
  }
}

describe('output', () => {
  test('the outputs name the first tagged reference, as the action sets them', () => {
    expect(copyOutputs(copyResult())).toEqual({
      image: 'reg/app:v1',
      digest: DIGEST,
      tag: 'v1',
      mediaType: INDEX,
      size: 500,
      pushed: [
        { ref: `reg/app@${DIGEST}`, digest: DIGEST, mediaType: INDEX, size: 500 },
        { ref: 'reg/app:v1', digest: DIGEST, mediaType: INDEX, size: 500 }
      ]
    })
  })

  test('nothing pushed: every output empty', () => {
    expect(copyOutputs(undefined)).toEqual({ image: '', digest: '', tag: '', mediaType: '', size: 0, pushed: [] })
  })

  test('lines: each reference, then what moved; a dry run says what would', () => {
    expect(copyLines(copyResult())).toEqual([
      `pushed reg/app@${DIGEST} ${DIGEST}`,
      `pushed reg/app:v1 ${DIGEST}`,
      `${INDEX}, 500 B; 3.0 MiB uploaded in 3 blobs, 1 mounted, 0 already there; 1.3 s`
    ])
    expect(copyLines(copyResult({ planned: { bytes: 2048 } }))).toEqual([
      `would push reg/app@${DIGEST} ${DIGEST}`,
      `would push reg/app:v1 ${DIGEST}`,
      `${INDEX}, 500 B; at most 2.0 KiB to upload; nothing was written`
    ])
  })

  const mirrored: MirrorResult = {
    rows: [
      {
        source: 'docker.io/library/nginx:1.27',
        destination: 'reg/nginx:1.27',
        digest: DIGEST,
        status: 'copied',
        bytes: 2048,
        entry: 1,
        seconds: 1
      },
      {
        source: 'docker.io/library/nginx:1.26',
        destination: 'reg/nginx:1.26',
        digest: DIGEST,
        status: 'skipped',
        bytes: 0,
        entry: 1,
        seconds: 0
      },
      {
        source: 'quay.io/x/y:v1',
        destination: 'reg/y:v1',
        digest: '',
        status: 'failed',
        bytes: 0,
        error: 'HEAD quay.io/x/y:v1: 401',
        entry: 2,
        seconds: 0
      }
    ],
    entryErrors: [{ entry: 3, source: 'ghcr.io/o/z', error: 'list tags: 404' }],
    shard: { index: 1, count: 4 },
    seconds: 2.5
  }

  test('a mirror: a line per pair, the entries that failed, and the counts', () => {
    expect(mirrorLines(mirrored)).toEqual([
      `copied docker.io/library/nginx:1.27 -> reg/nginx:1.27 ${DIGEST} (2.0 KiB)`,
      `up to date docker.io/library/nginx:1.26 -> reg/nginx:1.26 ${DIGEST} (0 B)`,
      'failed quay.io/x/y:v1 -> reg/y:v1: HEAD quay.io/x/y:v1: 401',
      'failed entry 3 (ghcr.io/o/z): list tags: 404',
      'Mirror (shard 1/4): 1 copied, 1 up to date, 2 failed; 2.0 KiB in 2.5 s'
    ])
    expect(mirrorFailureLines(mirrored)).toEqual([
      'entry 3 (ghcr.io/o/z): list tags: 404',
      'quay.io/x/y:v1 -> reg/y:v1: HEAD quay.io/x/y:v1: 401'
    ])
  })

  test("a mirror's JSON objects are the action's mirrored fields exactly", () => {
    expect(mirroredObject(mirrored.rows[2])).toEqual({
      source: 'quay.io/x/y:v1',
      destination: 'reg/y:v1',
      digest: '',
      status: 'failed',
      bytes: 0,
      error: mirrored.rows[2].error
    })
    expect(mirrored.rows[2].error).toBeTruthy()
  })
})
