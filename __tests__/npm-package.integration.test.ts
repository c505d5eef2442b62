/**
 * The npm package as users get it (issue 23 §5): `npm pack` of this repository, then the tarball
 * run by `npx` in an empty directory with a clean environment, npm offline and an empty cache.
 * Offline, any dependency the package asked for would fail the install, so passing shows the ncc
 * bundle is all it needs; run from outside the clone, the bundle cannot reach our node_modules
 * either.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'

interface Ran {
  code: number
  stdout: string
  stderr: string
}

/** Runs a command to its end; a non-zero exit is returned, not thrown, so tests can assert on it. */
function sh(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  return new Promise((done) => {
    execFile(command, args, { ...options, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
      done({ code, stdout, stderr })
    })
  })
}

interface PackedFile {
  path: string
}
interface Packed {
  filename: string
  files: PackedFile[]
}

let work: string
let tarball: string
let packed: Packed
let manifest: { version: string }
/** Nothing of this machine's npm setup or of the test run's environment: only node and npm on PATH. */
let cleanEnv: NodeJS.ProcessEnv

beforeAll(async () => {
  manifest = JSON.parse(await readFile('package.json', 'utf8')) as { version: string }
  work = await mkdtemp(join(tmpdir(), 'oci-push-npm-package-'))
  const home = join(work, 'home')
  await mkdir(home)
  cleanEnv = {
    PATH: [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter),
    HOME: home,
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_userconfig: join(home, '.npmrc'),
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false'
  }
  // From the repository, as the release workflow packs it: the committed dist/, no build script.
  const pack = await sh('npm', ['pack', '--json', '--pack-destination', work], { cwd: process.cwd(), env: { ...cleanEnv } })
  if (pack.code !== 0) throw new Error(`npm pack failed (exit ${pack.code}): ${pack.stderr}`)
  ;[packed] = JSON.parse(pack.stdout) as Packed[]
  tarball = join(work, packed.filename)
}, 60_000)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

/**
 * `npx ./oci-push-X.tgz ARGS`, word for word, in a fresh directory holding only the tarball: as
 * someone with only Node would run it.
 */
async function npxTarball(args: readonly string[]): Promise<Ran> {
  const cwd = await mkdtemp(join(work, 'run-'))
  await copyFile(tarball, join(cwd, packed.filename))
  return sh('npx', ['--yes', `./${packed.filename}`, ...args], { cwd, env: cleanEnv })
}

describe('the npm package', () => {
  test('holds the bundles, the README, the licence and action.yml, and no sources or tests', () => {
    const paths = packed.files.map((f) => f.path).sort()
    expect(paths).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'action.yml',
        'dist/cli/index.js',
        'dist/cli/package.json',
        'dist/index.js',
        'package.json'
      ])
    )
    expect(paths.filter((p) => /^(src|__tests__|testbed|scripts|bench|node_modules)\//.test(p))).toEqual([])
  })

  test('declares nothing to install with it: the bundle carries its dependencies', async () => {
    const { stdout } = await sh('tar', ['-xzOf', tarball, 'package/package.json'], { cwd: work })
    const inside = JSON.parse(stdout) as Record<string, unknown>
    expect(inside).toMatchObject({ name: 'oci-push', version: manifest.version, bin: { 'oci-push': 'dist/cli/index.js' } })
    expect(inside.private).toBeUndefined()
    expect(inside.dependencies ?? {}).toEqual({})
    expect(inside.optionalDependencies ?? {}).toEqual({})
    expect(inside.peerDependencies ?? {}).toEqual({})
  })

  test('npx of the tarball, offline, outside the clone: --help prints the usage and exits 0', async () => {
    const help = await npxTarball(['--help'])
    expect(help).toMatchObject({ code: 0 })
    expect(help.stdout).toMatch(/^oci-push: /)
    expect(help.stdout).toContain('Usage: oci-push COMMAND')
    for (const command of ['copy', 'push', 'package', 'mirror']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'))
    // The very text the bundle in this clone prints: the tarball runs the committed dist/cli.
    const local = await sh(process.execPath, ['dist/cli/index.js', '--help'], { cwd: process.cwd(), env: cleanEnv })
    expect(help.stdout).toBe(local.stdout)
  })

  test('--version prints the version of package.json', async () => {
    const version = await npxTarball(['--version'])
    expect(version).toMatchObject({ code: 0 })
    expect(version.stdout.trim()).toBe(manifest.version)
  })

  test('a bad command line to the installed bin exits 2 and names the flag', async () => {
    const bad = await npxTarball(['--no-such-flag'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--no-such-flag')
  })
})
