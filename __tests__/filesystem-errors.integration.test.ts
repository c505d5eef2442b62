/**
 * File-system errors on a layout, an archive or the spool (issue 21 §5): each ends the command at
 * once with one line naming the path and the system's reason and code, never a spin. Node's own
 * `mkdir(path, { recursive: true })` went back and forth for ever under /proc and through a dangling
 * symlink, so `oci-push copy SRC /proc/nope:v1` never ended. The command runs in this process
 * (src/cli/main.ts), a umoci layout as the source: no registry.
 *
 * Permissions do not bind root: an unwritable directory is one of mode 0o500 for another user,
 * an immutable one (`chattr +i`) for root where the file system has the flag. /proc, /sys and paths
 * under a regular file fail for every user.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 } from '../src/digest.js'
import { FileSystemError } from '../src/errors.js'
import { makeDirectories } from '../src/files.js'
import { main } from '../src/cli/main.js'
import { writeTar } from '../testbed/tarballs.js'
import { requireTools, run } from '../testbed/tools.js'
import { umociLayout } from '../testbed/umoci.js'

interface CliRun {
  exitCode: number
  stdout: string
  stderr: string
}

/** Long enough for a copy of a small layout; a spin fails the test here, not at jest's timeout. */
const SPIN_MS = 20_000

let work: string
let source: string
let save: string
const savedRunnerTemp = process.env.RUNNER_TEMP
const asRoot = process.getuid?.() === 0

/** `oci-push ARGS` in this process; rejects when it has not ended within {@link SPIN_MS}. */
async function oci(args: readonly string[]): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  let timer: NodeJS.Timeout | undefined
  const spun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`oci-push ${args.join(' ')} has not ended after ${SPIN_MS} ms`)), SPIN_MS)
  })
  try {
    const exitCode = await Promise.race([
      main({
        argv: args,
        env: { ...process.env },
        cwd: work,
        stdin: async function* () {},
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) }
      }),
      spun
    ])
    return { exitCode, stdout, stderr }
  } finally {
    clearTimeout(timer)
  }
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '')
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Exit status 1, nothing on stdout, and on stderr (--quiet) the one line `line` matches. */
function expectOneLine(result: CliRun, line: RegExp): void {
  expect({ exitCode: result.exitCode, stdout: result.stdout, stderr: lines(result.stderr) }).toEqual({
    exitCode: 1,
    stdout: '',
    stderr: [expect.stringMatching(line)]
  })
}

/**
 * Makes `directory` refuse new entries, for the user running the tests: mode 0o500, or for root
 * the immutable flag. Undefined when neither binds here (root on a file system without the flag).
 */
async function lockDirectory(directory: string): Promise<{ code: string; unlock: () => Promise<void> } | undefined> {
  if (!asRoot) {
    await chmod(directory, 0o500)
    return { code: 'EACCES', unlock: () => chmod(directory, 0o700) }
  }
  try {
    await run('chattr', ['+i', directory])
  } catch {
    return undefined
  }
  return { code: 'EPERM', unlock: () => run('chattr', ['-i', directory]).then(() => undefined) }
}

/** No directory this user cannot write to can be made here: a failure, never a pass that checked nothing. */
function unlockable(name: string): never {
  throw new Error(`${name}: cannot make a directory this user may not write to (root needs chattr +i, from e2fsprogs, and ext4 or xfs)`)
}

/** A test that needs a directory it cannot write to. */
function testLocked(name: string, body: (locked: string, code: string) => Promise<void>): void {
  test(name, async () => {
    const locked = await mkdtemp(join(work, 'locked-'))
    const lock = await lockDirectory(locked)
    if (!lock) return unlockable(name)
    try {
      await body(locked, lock.code)
    } finally {
      await lock.unlock()
    }
  })
}

/** The digest of the source's first layer (umoci's manifest, tag v1). */
async function firstLayer(): Promise<string> {
  const index = JSON.parse(await readFile(join(source, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
  const manifest = JSON.parse(await readFile(blobFile(source, index.manifests[0].digest), 'utf8')) as { layers: Array<{ digest: string }> }
  return manifest.layers[0].digest
}

function blobFile(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length))
}

beforeAll(async () => {
  await requireTools(['umoci', 'chattr'])
  work = await mkdtemp(join(tmpdir(), 'oci-push-fs-errors-'))
  source = join(work, 'source')
  await umociLayout(source, ['v1'])
  // A legacy docker save: its layer is gzip'd into the spool when the archive is opened.
  const layer = Buffer.from('usr/share/doc/readme\n'.repeat(2000))
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } })
  save = join(work, 'save.tar')
  await writeTar(save, [
    { name: 'layer0/layer.tar', body: layer },
    { name: 'config.json', body: config },
    { name: 'manifest.json', body: JSON.stringify([{ Config: 'config.json', RepoTags: ['spool/app:v1'], Layers: ['layer0/layer.tar'] }]) }
  ])
}, 60_000)

afterEach(() => {
  if (savedRunnerTemp === undefined) delete process.env.RUNNER_TEMP
  else process.env.RUNNER_TEMP = savedRunnerTemp
})

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

describe('makeDirectories: mkdir -p in bounded steps', () => {
  test('a directory that cannot be made although its parent is there fails at once (Node’s own spins)', async () => {
    for (const [path, code] of [
      ['/proc/nope', 'ENOENT'],
      ['/proc/nope/a/b', 'ENOENT']
    ])
      await expect(makeDirectories(path)).rejects.toMatchObject({ code, syscall: 'mkdir', path: '/proc/nope' })
    const dangling = join(work, 'dangling')
    await symlink(join(work, 'nowhere'), dangling)
    await expect(makeDirectories(join(dangling, 'out'))).rejects.toMatchObject({ code: 'EEXIST', path: dangling })
  })

  test('a file in the way: ENOTDIR beneath it, EEXIST for the file itself', async () => {
    const file = join(work, 'a-file')
    await writeFile(file, 'x')
    await expect(makeDirectories(join(file, 'sub', 'deeper'))).rejects.toMatchObject({ code: 'ENOTDIR', path: join(file, 'sub') })
    await expect(makeDirectories(file)).rejects.toMatchObject({ code: 'EEXIST', path: file })
  })

  test('what is missing is made, what is there is left; many at once agree', async () => {
    const base = join(work, 'made')
    await Promise.all(Array.from({ length: 8 }, (_, i) => makeDirectories(join(base, 'blobs', i % 2 ? 'sha256' : 'sha512'))))
    expect((await readdir(join(base, 'blobs'))).sort()).toEqual(['sha256', 'sha512'])
    await makeDirectories(base)
    await makeDirectories('.')
    await makeDirectories('/')
  })
})

describe('a layout destination that cannot be written', () => {
  test.each([
    ['/proc/nope', /^oci-push copy: cannot create the layout directory \/proc\/nope: no such file or directory \(ENOENT\)$/],
    [
      '/proc/nope/deeper/layout',
      /^oci-push copy: cannot create the layout directory \/proc\/nope\/deeper\/layout: \/proc\/nope: no such file or directory \(ENOENT\)$/
    ],
    // Another file system's refusal: EPERM for root, EACCES for others, EROFS where /sys is read-only.
    [
      '/sys/nope',
      /^oci-push copy: cannot create the layout directory \/sys\/nope: .+ \((EPERM|EACCES|EROFS)\); give a directory this user can write$/
    ]
  ])('copy SRC %s:v1 ends at once with one line', async (destination, line) => {
    expectOneLine(await oci(['copy', `${source}:v1`, `${destination}:v1`, '--quiet']), line)
  })

  test('under a regular file: ENOTDIR, for root too', async () => {
    const file = join(work, 'plain-file')
    await writeFile(file, 'not a directory')
    const under = join(file, 'sub')
    expectOneLine(
      await oci(['copy', `${source}:v1`, `${under}:v1`, '--quiet']),
      new RegExp(`^oci-push copy: cannot create the layout directory ${escaped(under)}: not a directory \\(ENOTDIR\\)$`)
    )
    // The destination is the file itself: its blobs/ cannot be made in it.
    expectOneLine(
      await oci(['copy', `${source}:v1`, `${file}:v1`, '--quiet']),
      new RegExp(
        `^oci-push copy: cannot create the layout directory ${escaped(file)}: ${escaped(join(file, 'blobs'))}: not a directory \\(ENOTDIR\\)$`
      )
    )
  })

  test('through a dangling symlink (the other way Node’s recursive mkdir spins)', async () => {
    const link = join(work, 'dangling-destination')
    await symlink(join(work, 'nowhere-at-all'), link)
    const destination = join(link, 'out')
    expectOneLine(
      await oci(['copy', `${source}:v1`, `${destination}:v1`, '--quiet']),
      new RegExp(
        `^oci-push copy: cannot create the layout directory ${escaped(destination)}: ${escaped(link)}: file already exists \\(EEXIST\\)$`
      )
    )
  })

  testLocked('in a directory that refuses new entries: the system’s refusal, named', async (locked, code) => {
    const destination = join(locked, 'layout')
    expectOneLine(
      await oci(['copy', `${source}:v1`, `${destination}:v1`, '--quiet']),
      new RegExp(
        `^oci-push copy: cannot create the layout directory ${escaped(destination)}: .+ \\(${code}\\); give a directory this user can write$`
      )
    )
  })

  test('a blob that cannot be stored (a directory where its file goes): named, and nothing left behind', async () => {
    const destination = join(work, 'blob-in-the-way')
    const layer = await firstLayer()
    await mkdir(join(blobFile(destination, layer), 'occupied'), { recursive: true })
    expectOneLine(
      await oci(['copy', `${source}:v1`, `${destination}:v1`, '--quiet']),
      new RegExp(`^oci-push copy: cannot write ${escaped(blobFile(destination, layer))}: .+ \\((EISDIR|ENOTEMPTY|EEXIST)\\)$`)
    )
    // No temporary file left, no index written.
    expect((await readdir(join(destination, 'blobs', 'sha256'))).filter((name) => name.endsWith('.tmp'))).toEqual([])
    await expect(readFile(join(destination, 'index.json'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  test('the layout files that cannot be written: oci-layout, index.json', async () => {
    const destination = join(work, 'layout-file-in-the-way')
    await mkdir(join(destination, 'oci-layout', 'occupied'), { recursive: true })
    expectOneLine(
      await oci(['copy', `${source}:v1`, `${destination}:v1`, '--quiet']),
      new RegExp(`^oci-push copy: cannot write ${escaped(join(destination, 'oci-layout'))}: illegal operation on a directory \\(EISDIR\\)$`)
    )
    const unreadable = join(work, 'index-in-the-way')
    await mkdir(join(unreadable, 'index.json'), { recursive: true })
    expectOneLine(
      await oci(['copy', `${source}:v1`, `${unreadable}:v1`, '--quiet']),
      new RegExp(`^oci-push copy: cannot read ${escaped(join(unreadable, 'index.json'))}: illegal operation on a directory \\(EISDIR\\)$`)
    )
  })

  test('index.json of a layout whose directory refuses new entries: named, the old index kept', async () => {
    // Every blob is there already (copied before the lock): only the index is written.
    const layout = join(work, 'locked-layout')
    await run('cp', ['-a', source, layout])
    const before = await readFile(join(layout, 'index.json'), 'utf8')
    const lock = await lockDirectory(layout)
    if (!lock) return unlockable('index.json of a locked layout')
    try {
      expectOneLine(
        await oci(['copy', `${source}:v1`, `${layout}:v2`, '--quiet']),
        new RegExp(
          `^oci-push copy: cannot write ${escaped(join(layout, 'index.json'))}: .+ \\(${lock.code}\\); give a directory this user can write$`
        )
      )
    } finally {
      await lock.unlock()
    }
    expect(await readFile(join(layout, 'index.json'), 'utf8')).toBe(before)
    expect((await readdir(layout)).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })
})

describe('a source that cannot be read', () => {
  test('a layout path that is a regular file: ENOTDIR, named', async () => {
    const file = join(work, 'file-as-layout')
    await writeFile(file, 'x')
    expectOneLine(
      await oci(['copy', `${file}:v1`, `${join(work, 'never')}:v1`, '--quiet']),
      new RegExp(
        `^oci-push copy: cannot read the layout ${escaped(file)}: ${escaped(join(file, 'index.json'))}: not a directory \\(ENOTDIR\\)$`
      )
    )
  })

  test('index.json, a manifest and a layer that are directories: EISDIR, named, not read again', async () => {
    const index = join(work, 'index-is-a-directory')
    await mkdir(join(index, 'index.json'), { recursive: true })
    expectOneLine(
      await oci(['copy', `${index}:v1`, `${join(work, 'never')}:v1`, '--quiet']),
      new RegExp(`^oci-push copy: cannot read ${escaped(join(index, 'index.json'))}: illegal operation on a directory \\(EISDIR\\)$`)
    )
    const manifestless = join(work, 'manifest-is-a-directory')
    await run('cp', ['-a', source, manifestless])
    const { manifests } = JSON.parse(await readFile(join(source, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
    const manifest = blobFile(manifestless, manifests[0].digest)
    await rm(manifest)
    await mkdir(manifest)
    expectOneLine(
      await oci(['copy', `${manifestless}:v1`, `${join(work, 'never')}:v1`, '--quiet']),
      new RegExp(`^oci-push copy: cannot read ${escaped(manifest)}: illegal operation on a directory \\(EISDIR\\)$`)
    )
    const broken = join(work, 'layer-is-a-directory')
    await run('cp', ['-a', source, broken])
    const layer = blobFile(broken, await firstLayer())
    await rm(layer)
    await mkdir(layer)
    // A layer read fails after the file is open: the copy's retries would have said "again" (and waited).
    const result = await oci(['copy', `${broken}:v1`, `${join(work, 'from-broken')}:v1`])
    expect(result.exitCode).toBe(1)
    expect(result.stderr).not.toMatch(/again/)
    expect(lines(result.stderr).filter((line) => line.startsWith('oci-push copy:'))).toEqual([
      `oci-push copy: cannot read ${layer}: illegal operation on a directory (EISDIR)`
    ])
  })

  test('an archive path under a regular file, and one whose layout index is a directory', async () => {
    const file = join(work, 'file-as-parent')
    await writeFile(file, 'x')
    expectOneLine(
      await oci(['push', join(file, 'image.tar'), '--to', `${join(work, 'never')}:v1`, '--quiet']),
      new RegExp(`^oci-push push: cannot read the archive ${escaped(join(file, 'image.tar'))}: not a directory \\(ENOTDIR\\)$`)
    )
    const layout = join(work, 'archive-index-is-a-directory')
    await mkdir(join(layout, 'index.json'), { recursive: true })
    expectOneLine(
      await oci(['push', layout, '--to', `${join(work, 'never')}:v1`, '--quiet']),
      new RegExp(`^oci-push push: cannot read ${escaped(join(layout, 'index.json'))}: illegal operation on a directory \\(EISDIR\\)$`)
    )
  })
})

describe("the spool of a docker save's gzip'd layers (RUNNER_TEMP)", () => {
  const spoolLine = (root: string, code: string) =>
    new RegExp(
      `^oci-push push: temporary directory ${escaped(root)}: cannot make a directory for gzip'd layers there \\(${code}: [a-z ]+\\); set RUNNER_TEMP to a writable directory$`
    )

  test.each([['/proc/nope', 'ENOENT']])('RUNNER_TEMP=%s: %s, named', async (root, code) => {
    process.env.RUNNER_TEMP = root
    expectOneLine(await oci(['push', save, '--to', `${join(work, 'spool-out')}:v1`, '--quiet']), spoolLine(root, code))
  })

  test('RUNNER_TEMP a regular file: ENOTDIR, named', async () => {
    const file = join(work, 'runner-temp-file')
    await writeFile(file, 'x')
    process.env.RUNNER_TEMP = file
    expectOneLine(await oci(['push', save, '--to', `${join(work, 'spool-out')}:v1`, '--quiet']), spoolLine(file, 'ENOTDIR'))
  })

  testLocked('RUNNER_TEMP a directory that refuses new entries: named', async (locked, code) => {
    process.env.RUNNER_TEMP = locked
    expectOneLine(await oci(['push', save, '--to', `${join(work, 'spool-out')}:v1`, '--quiet']), spoolLine(locked, code))
  })

  test('a writable RUNNER_TEMP: the same push succeeds, and the spool is gone after', async () => {
    const root = await mkdtemp(join(work, 'runner-temp-'))
    process.env.RUNNER_TEMP = root
    const result = await oci(['push', save, '--to', `${join(work, 'spool-ok')}:v1`, '--quiet'])
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: '' })
    expect(await readdir(root)).toEqual([])
  })
})

test('FileSystemError carries what happened: operation, path, code, reason, where', () => {
  const error = new FileSystemError('create the layout directory', '/a/b', 'ENOTDIR', 'not a directory', '/a')
  expect(error).toMatchObject({
    operation: 'create the layout directory',
    path: '/a/b',
    code: 'ENOTDIR',
    reason: 'not a directory',
    at: '/a'
  })
  expect(error.message).toBe('cannot create the layout directory /a/b: /a: not a directory (ENOTDIR)')
})
