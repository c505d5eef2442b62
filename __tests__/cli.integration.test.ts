/**
 * The built `oci-push` command (dist/cli/index.js, the package's bin) run as a user runs it,
 * against real registries: the same digests and outputs as the action, exit codes, credentials
 * from stdin, progress on stderr, dry runs.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { runAction } from '../testbed/action.js'
import { CLI_ENTRY as CLI, runCli, type CliRun } from '../testbed/cli.js'
import { image, index, listTags, pushFixture } from '../testbed/fixtures.js'
import { startProxy, type RecordingProxy } from '../testbed/proxy.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, run as runTool } from '../testbed/tools.js'
import type { MirroredObject } from '../src/engine/mirror.js'

const ESC = '\x1b'

/** Runs the bin with `args`; `stdin` is piped in (and closed) when given. */
const oci = runCli

const lines = (text: string) => text.split('\n').filter((line) => line !== '')

let a: TestRegistry
let secured: TestRegistry
let work: string
const login = { username: 'cli-user', password: 'cli-pass-5f1e2d3c4b' }
const amd64 = image({ seed: 'cli-amd64', layers: 3 })
const multi = index([amd64, image({ seed: 'cli-arm64', architecture: 'arm64' })])

beforeAll(async () => {
  await requireTools(['docker-registry', 'htpasswd'])
  ;[a, secured] = await Promise.all([startRegistry(), startRegistry({ htpasswd: login })])
  await pushFixture(a.host, 'app', multi, 'build-7')
  for (const tag of ['1.0.0', '1.1.0', '2.0.0']) await pushFixture(a.host, 'upstream', amd64, tag)
  work = await mkdtemp(join(tmpdir(), 'oci-push-cli-'))
}, 60_000)

afterAll(async () => {
  await Promise.all([a, secured].map((r) => r?.stop()))
  if (work) await rm(work, { recursive: true, force: true })
})

describe('help and usage', () => {
  test.each([[['--help']], [['help']], [['copy', '--help']], [['push', '-h']], [['package', '--help']], [['mirror', '--help']]])(
    'oci-push %j prints usage on stdout and exits 0',
    async (args) => {
      const run = await oci(args)
      expect(run.exitCode).toBe(0)
      expect(run.stderr).toBe('')
      const command = args[0].startsWith('-') || args[0] === 'help' ? 'COMMAND' : args[0]
      expect(run.stdout).toContain(`Usage: oci-push ${command}`)
      expect(run.stdout).toContain('Exit status: 0 done, 1 failed, 2 the command line cannot be used.')
    }
  )

  test('--version prints the version of package.json', async () => {
    const run = await oci(['--version'])
    expect(run).toEqual({ exitCode: 0, stdout: '0.1.0\n', stderr: '' })
  })

  test.each([
    [[], /^oci-push: COMMAND: missing: give one of copy, push, package, mirror/],
    [['frob'], /^oci-push: frob: is not a command/],
    [['copy'], /^oci-push copy: SRC: missing/],
    [['copy', 'localhost:5000/a'], /^oci-push copy: DEST: missing/],
    [['copy', 'localhost:5000/a', 'localhost:5000/b', '--frob'], /^oci-push copy: --frob: unknown option; see oci-push copy --help$/],
    [['copy', 'localhost:5000/a', 'localhost:5000/b', '--max-size'], /^oci-push copy: --max-size: needs a value/],
    [['copy', 'localhost:5000/a', 'localhost:5000/b', '--dry-run=yes'], /^oci-push copy: --dry-run: takes no value$/],
    [['copy', 'localhost:5000/a', 'localhost:5000/b', '--platform', 'linux'], /^oci-push copy: --platform: "linux" is not a platform/],
    [['copy', 'localhost:5000/a', 'localhost:5000/B'], /^oci-push copy: DEST: "localhost:5000\/B" is not a valid reference/],
    [['copy', 'localhost:5000/a', 'localhost:5000/b', '--max-size', '1 potato'], /^oci-push copy: --max-size: "1 potato" is not a size/],
    [['copy', 'localhost:5000/a', 'localhost:5000/b', '--username', 'u'], /^oci-push copy: --password-stdin: required with --username/],
    [
      ['copy', 'localhost:5000/a', 'localhost:5000/b', '--password', 'hunter2'],
      /^oci-push copy: --password: .*pipe it with --password-stdin$/
    ],
    [['push', 'image.tar'], /^oci-push push: --to: missing/],
    [['package', './dir'], /^oci-push package: DEST: missing/],
    [['mirror'], /^oci-push mirror: FILE: missing/],
    [['mirror', 'a.yml', 'b.yml'], /^oci-push mirror: b\.yml: unexpected argument/],
    [['mirror', 'mirror.txt'], /^oci-push mirror: FILE: "mirror\.txt" is not a \.yml, \.yaml or \.json file$/],
    [['mirror', 'a.yml', '--shard', '4/4'], /^oci-push mirror: --shard: "4\/4": the index i must be from 0 to n-1/],
    [['mirror', 'missing.yml'], /^oci-push mirror: FILE: file "missing\.yml" not found/]
  ])('oci-push %j exits 2 with one line naming the flag or argument', async (args, line) => {
    const run = await oci(args)
    expect(run.exitCode).toBe(2)
    expect(run.stdout).toBe('')
    expect(lines(run.stderr)).toEqual([expect.stringMatching(line)])
  })

  test('the password given with --password never reaches stderr', async () => {
    const run = await oci(['copy', 'localhost:5000/a', 'localhost:5000/b', '--password=hunter2-secret'])
    expect(run.exitCode).toBe(2)
    expect(run.stderr).not.toContain('hunter2-secret')
  })
})

describe('copy', () => {
  test('gives the digest and outputs the action gives for the same input', async () => {
    const inputs = { srcRef: `${a.host}/app:build-7`, destRef: `${a.host}/same/app:v1`, annotations: 'org.example.stamp=cli' }
    const action = await runAction(inputs)
    expect(action.exitCode).toBe(0)
    const run = await oci(['copy', inputs.srcRef, inputs.destRef, '--annotation', inputs.annotations, '--json'])
    expect(run.exitCode).toBe(0)
    const outputs = JSON.parse(run.stdout) as Record<string, unknown>
    // Annotated: a new digest, which both must compute alike.
    expect(outputs.digest).not.toBe(multi.root.digest)
    expect(outputs).toEqual({
      image: action.outputs.image,
      digest: action.outputs.digest,
      tag: action.outputs.tag,
      mediaType: action.outputs.mediaType,
      size: Number(action.outputs.size),
      pushed: JSON.parse(action.outputs.pushed) as unknown
    })
  })

  test('prints what it pushed, one line per reference, and what it does on stderr', async () => {
    const run = await oci(['copy', `${a.host}/app:build-7`, `${a.host}/lines/app:v1`, `${a.host}/lines/app:v2`])
    expect(run.exitCode).toBe(0)
    expect(lines(run.stdout).slice(0, 2)).toEqual([
      `pushed ${a.host}/lines/app:v1 ${multi.root.digest}`,
      `pushed ${a.host}/lines/app:v2 ${multi.root.digest}`
    ])
    expect(run.stderr).toContain(`Copying ${a.host}/app:build-7 to ${a.host}/lines/app:v1, ${a.host}/lines/app:v2`)
    expect(await listTags(a.host, 'lines/app')).toEqual(['v1', 'v2'])
  })

  test('an unknown source tag exits 1 with one line on stderr naming it', async () => {
    const run = await oci(['copy', `${a.host}/app:no-such-tag`, `${a.host}/failed/app:v1`, '--quiet'])
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toBe('')
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^oci-push copy: .*app:no-such-tag.*404/)])
    expect(await listTags(a.host, 'failed/app')).toEqual([])
  })

  test('over --max-size: exits 1 naming the flag to raise, and writes nothing', async () => {
    const run = await oci(['copy', `${a.host}/app:build-7`, `${a.host}/limited/app:v1`, '--max-size', '1KiB', '-q'])
    expect(run.exitCode).toBe(1)
    expect(lines(run.stderr)).toEqual([
      expect.stringMatching(/^oci-push copy: [0-9.]+ KiB exceeds the limit of 1\.0 KiB; raise --max-size$/)
    ])
    expect(await listTags(a.host, 'limited/app')).toEqual([])
  })

  test('--dry-run writes nothing and says what would be pushed', async () => {
    const run = await oci(['copy', `${a.host}/app:build-7`, `${a.host}/dry/app:v1`, '--dry-run', '--json'])
    expect(run.exitCode).toBe(0)
    const outputs = JSON.parse(run.stdout) as { digest: string; pushed: Array<{ ref: string }>; planned?: { bytes: number } }
    expect(outputs.digest).toBe(multi.root.digest)
    expect(outputs.pushed.map((p) => p.ref)).toEqual([`${a.host}/dry/app:v1`])
    expect(outputs.planned?.bytes).toBeGreaterThan(0)
    expect(await listTags(a.host, 'dry/app')).toEqual([])
  })
})

describe('credentials', () => {
  test('--password-stdin logs in to the destination; the password is never printed', async () => {
    const run = await oci(
      ['copy', `${a.host}/app:build-7`, `${secured.host}/stdin/app:v1`, '--username', login.username, '--password-stdin', '--debug'],
      { stdin: `${login.password}\n` }
    )
    expect(run.exitCode).toBe(0)
    expect(lines(run.stdout)[0]).toBe(`pushed ${secured.host}/stdin/app:v1 ${multi.root.digest}`)
    const basic = Buffer.from(`${login.username}:${login.password}`).toString('base64')
    for (const text of [run.stdout, run.stderr]) {
      expect(text).not.toContain(login.password)
      expect(text).not.toContain(basic)
    }
    // --debug printed the requests, so the mask had something to hide from.
    expect(run.stderr).toContain('debug: ')
    expect(await listTags(secured.host, 'stdin/app', { credentials: login })).toEqual(['v1'])
  })

  test('--json is data, not a log line: printed unmasked, whole even when the password is a common word, and it holds no secret', async () => {
    const common = { username: 'u', password: 'app' }
    const plainWord = await startRegistry({ htpasswd: common })
    try {
      const run = await oci(
        ['copy', `${a.host}/app:build-7`, `${plainWord.host}/json/app:v1`, '--username', 'u', '--password-stdin', '--json', '--debug'],
        { stdin: 'app\n' }
      )
      expect(run.exitCode).toBe(0)
      const result = JSON.parse(run.stdout) as { digest: string; mediaType: string }
      expect(result.mediaType).toBe(multi.root.mediaType)
      expect(result.digest).toBe(multi.root.digest)
      // Lines for people are still masked.
      expect(run.stderr).not.toMatch(/\bapp\b/)
    } finally {
      await plainWord.stop()
    }
    const secret = await oci(
      ['copy', `${a.host}/app:build-7`, `${secured.host}/json/app:v1`, '--username', login.username, '--password-stdin', '--json'],
      { stdin: `${login.password}\n` }
    )
    expect(secret.exitCode).toBe(0)
    expect(secret.stdout).not.toContain(login.password)
    expect(secret.stdout).not.toContain(Buffer.from(`${login.username}:${login.password}`).toString('base64'))
  })

  test('messages name flags, not action inputs (issue 23): a login, an annotation line, the size limit', async () => {
    const anonymous = await oci(['copy', `${a.host}/app:build-7`, `${secured.host}/words/app:v1`, '--quiet'])
    expect(anonymous.exitCode).toBe(1)
    expect(anonymous.stderr).toContain('set --username and --password-stdin, or log in to it first with docker login')
    const annotation = await oci([
      'copy',
      `${a.host}/app:build-7`,
      `${a.host}/words/app:v1`,
      '--annotation',
      'k=v',
      '--annotation',
      'no-equals'
    ])
    expect(annotation.exitCode).toBe(2)
    expect(lines(annotation.stderr)).toEqual([expect.stringMatching(/^oci-push copy: --annotation #2: "no-equals": expected key=value/)])
    const limited = await oci(['copy', `${a.host}/app:build-7`, `${a.host}/words/other:v1`, '--max-size', '0', '--quiet'])
    expect(limited.exitCode).toBe(1)
    expect(lines(limited.stderr)).toEqual([expect.stringContaining('(--max-size 0); give --max-size a size to allow it')])
    for (const run of [anonymous, annotation, limited]) expect(run.stderr).not.toMatch(/login-action|maxArtifactSize|annotations line|⟦/)
  })

  test('without credentials the registry refuses and the command exits 1', async () => {
    const run = await oci(['copy', `${a.host}/app:build-7`, `${secured.host}/anonymous/app:v1`, '--quiet'])
    expect(run.exitCode).toBe(1)
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^oci-push copy: .*401/)])
  })

  test('both passwords on stdin is bad usage: only one can come', async () => {
    const args = ['copy', `${secured.host}/a:v1`, `${a.host}/b:v1`, '-u', 'x', '--password-stdin', '--src-username', 'y']
    const run = await oci([...args, '--src-password-stdin'], { stdin: 'secret-one\n' })
    expect(run.exitCode).toBe(2)
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^oci-push copy: --src-password-stdin: only one password can come on stdin/)])
  })
})

describe('progress', () => {
  let proxy: RecordingProxy

  beforeAll(async () => {
    proxy = await startProxy(a.port)
  })

  afterAll(async () => {
    await proxy?.stop()
  })

  /** Every blob upload held for a while: a transfer slow enough for progress lines. */
  function slowUploads(): void {
    proxy.reset()
    proxy.faults.rules.push({
      match: (r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'),
      times: Infinity,
      action: { delayMs: 1500 }
    })
  }

  test('a slow copy prints plain progress lines on a non-terminal stderr', async () => {
    slowUploads()
    const run = await oci(['copy', `${a.host}/app@${amd64.root.digest}`, `${proxy.host}/slow/app:v1`], {
      env: { OCI_PUSH_PROGRESS_INTERVAL: '0.2' }
    })
    expect(run.exitCode).toBe(0)
    expect(run.stderr).not.toContain('\x1b[')
    expect(lines(run.stderr).filter((line) => /^Progress: .* of .* \(\d+%\), .*\/s/.test(line)).length).toBeGreaterThan(0)
  })

  test('on a terminal: a live bar per transfer, redrawn in place', async () => {
    await requireTools(['script'])
    slowUploads()
    const command = `stty cols 120; ${process.execPath} ${CLI} copy ${a.host}/app@${amd64.root.digest} ${proxy.host}/tty/app:v1`
    // script(1) runs the command on a pseudo-terminal and copies what it writes to its stdout.
    const stdout = await runTool('script', ['-qec', command, '/dev/null'])
    expect(stdout).toMatch(/[0-9a-f]{12} \[[ =>]{20}\] +\d+% .* of .* to 127\.0\.0\.1:\d+\/tty\/app/)
    // Drawn again in place: up over the bars, cleared to the end of the screen.
    expect(stdout).toMatch(new RegExp(`${ESC}\\[\\d+A\r${ESC}\\[J`))
    expect(stdout).toContain(`pushed ${proxy.host}/tty/app:v1 ${amd64.root.digest}`)
  })

  test('--quiet prints no progress at all', async () => {
    slowUploads()
    const run = await oci(['copy', `${a.host}/app@${amd64.root.digest}`, `${proxy.host}/quiet/app:v1`, '-q'], {
      env: { OCI_PUSH_PROGRESS_INTERVAL: '0.2' }
    })
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toBe('')
    expect(lines(run.stdout)[0]).toBe(`pushed ${proxy.host}/quiet/app:v1 ${amd64.root.digest}`)
  })
})

describe('push and package', () => {
  test('copy to a local layout, then push that layout: the same digest', async () => {
    const layout = join(work, 'layout')
    const exported = await oci(['copy', `${a.host}/app:build-7`, `${layout}:v1`, '--quiet'])
    expect(exported.exitCode).toBe(0)
    const run = await oci(['push', layout, '--to', `${a.host}/pushed/app:v1`, '--json', '--quiet'])
    expect(run.exitCode).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ image: `${a.host}/pushed/app:v1`, digest: multi.root.digest, tag: 'v1' })
    expect(await listTags(a.host, 'pushed/app')).toEqual(['v1'])
  })

  test('package gives the digest the action gives for the same directory', async () => {
    const dir = join(work, 'config')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'settings.yaml'), 'replicas: 3\n')
    const artifactType = 'application/vnd.example.config.v1+tar'
    const action = await runAction({ path: dir, destRef: `${a.host}/pkg/action:v1`, artifactType })
    expect(action.exitCode).toBe(0)
    const run = await oci(['package', dir, `${a.host}/pkg/cli:v1`, '--artifact-type', artifactType, '--json', '--quiet'])
    expect(run.exitCode).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ digest: action.outputs.digest, image: `${a.host}/pkg/cli:v1` })
  })
})

describe('mirror', () => {
  /** Writes a mirror config into the work directory; returns its name, relative to it. */
  async function mirrorFile(name: string, entries: string): Promise<string> {
    await writeFile(join(work, name), `mirrors:\n${entries}`)
    return name
  }

  const upstream = () => `  - source: ${a.host}/upstream\n    destination: ${a.host}/mirror/upstream\n    tags: { semver: ">=1.1" }\n`
  const pairs = () => [
    `${a.host}/upstream:1.1.0 ${a.host}/mirror/upstream:1.1.0`,
    `${a.host}/upstream:2.0.0 ${a.host}/mirror/upstream:2.0.0`
  ]
  const mirror = (args: string[]) => oci(['mirror', ...args, '--json'], { cwd: work })
  const rowsOf = (run: CliRun) => JSON.parse(run.stdout) as MirroredObject[]

  test('a dry run plans the selected tags and writes nothing; shards cover every pair once; a re-run is up to date', async () => {
    const file = await mirrorFile('mirror.yml', upstream())
    const dry = await mirror([file, '--dry-run'])
    expect(dry.exitCode).toBe(0)
    // Rows come in the order the tags were selected (newest first): compared as sets.
    expect(
      rowsOf(dry)
        .map((r) => `${r.source} ${r.destination} ${r.status}`)
        .sort()
    ).toEqual(pairs().map((p) => `${p} planned`))
    expect(rowsOf(dry).find((r) => r.source.endsWith(':1.1.0'))).toEqual({
      source: `${a.host}/upstream:1.1.0`,
      destination: `${a.host}/mirror/upstream:1.1.0`,
      digest: amd64.root.digest,
      status: 'planned',
      bytes: expect.any(Number) as unknown
    })
    expect(await listTags(a.host, 'mirror/upstream')).toEqual([])

    const shards = [await mirror([file, '--shard', '0/2']), await mirror([file, '--shard=1/2'])]
    expect(shards.map((run) => run.exitCode)).toEqual([0, 0])
    const copied = shards.flatMap(rowsOf)
    expect(copied.map((r) => `${r.source} ${r.destination}`).sort()).toEqual(pairs())
    expect(copied.every((r) => r.status === 'copied' && r.digest === amd64.root.digest)).toBe(true)
    expect(await listTags(a.host, 'mirror/upstream')).toEqual(['1.1.0', '2.0.0'])

    const again = await oci(['mirror', file], { cwd: work })
    expect(again.exitCode).toBe(0)
    const [summary, ...rows] = lines(again.stdout).reverse()
    expect(rows.sort()).toEqual(pairs().map((p) => `up to date ${p.replace(' ', ' -> ')} ${amd64.root.digest} (0 B)`))
    expect(summary).toMatch(/^Mirror: 2 up to date; 0 B in [\d.]+ s$/)
  })

  test('a failing entry fails the command, naming it; the other entries are done', async () => {
    const file = await mirrorFile(
      'failing.yml',
      `  - source: ${a.host}/app:no-such-tag\n    destination: ${a.host}/mirror/broken\n` +
        `  - source: ${a.host}/app:build-7\n    destination: ${a.host}/mirror/app\n`
    )
    const run = await mirror([file])
    expect(run.exitCode).toBe(1)
    expect(rowsOf(run).map((r) => [r.source, r.status])).toEqual([
      [`${a.host}/app:no-such-tag`, 'failed'],
      [`${a.host}/app:build-7`, 'copied']
    ])
    expect(run.stderr).toContain('oci-push mirror: 1 of 2 failed:\n')
    expect(run.stderr).toMatch(new RegExp(`\\n  ${a.host}/app:no-such-tag -> ${a.host}/mirror/broken:no-such-tag: .*404`))
    expect(await listTags(a.host, 'mirror/app')).toEqual(['build-7'])
  })
})
