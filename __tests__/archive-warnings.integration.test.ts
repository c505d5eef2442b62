/**
 * A `docker save` push prints no Node warning. Its uncompressed layer is measured through gzip in
 * 1 MiB pieces, each more than the gzip stream's 16 KiB write buffer, so every piece waits for
 * `drain`: a 16 MiB layer waits some 16 times. A listener left behind per wait once gave
 * `MaxListenersExceededWarning … [Gzip]` on stderr past the tenth. Node prints such warnings from
 * a process of its own, so the action runs in one, as the runner runs it: from the TypeScript
 * sources, transpiled file by file (dist/ is the build's to make).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { fastNoise, listTags, sha256 } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { writeTar } from '../testbed/tarballs.js'
import { requireTools } from '../testbed/tools.js'

let registry: TestRegistry
let dir: string
const MiB = 1024 * 1024

/** src/**\/*.ts as ES modules under `out`, resolving packages from the repository's node_modules. */
async function transpileSources(out: string): Promise<string> {
  const root = resolve('.')
  const files = (await readdir(join(root, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  for (const file of files) {
    const source = join(root, 'src', file)
    const { outputText } = ts.transpileModule(await readFile(source, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: source
    })
    const target = join(out, relative(root, source)).replace(/\.ts$/, '.js')
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, outputText)
  }
  await writeFile(join(out, 'package.json'), '{"type":"module"}')
  await symlink(join(root, 'node_modules'), join(out, 'node_modules'))
  return join(out, 'src', 'index.js')
}

/** Runs the action entry with `inputs` as INPUT_* variables; its exit code and stderr. */
async function runEntry(entry: string, inputs: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary') }
  for (const file of Object.values(files)) await writeFile(file, '')
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('INPUT_') && !name.startsWith('GITHUB_')))
  const inputEnv = Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value]))
  // NODE_OPTIONS is jest's (--experimental-vm-modules), whose own warning is not the action's.
  const env = { ...base, NODE_OPTIONS: '', ...inputEnv, ...files }
  return new Promise((done) => {
    execFile(process.execPath, [entry], { env, maxBuffer: 64 * MiB }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
    )
  })
}

beforeAll(async () => {
  await requireTools(['docker-registry'])
  registry = await startRegistry()
  dir = await mkdtemp(join(tmpdir(), 'oci-push-warnings-'))
  // One layer deflate cannot shrink (stored, level 0) and one it can (level 6): both measured, both uploaded.
  const layers = [fastNoise('warnings-noise', 16 * MiB), Buffer.from('a line of a text file\n'.repeat(800_000))]
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } })
  )
  await writeTar(join(dir, 'save.tar'), [
    ...layers.map((body, i) => ({ name: `layer${i}/layer.tar`, body })),
    { name: 'config.json', body: config },
    {
      name: 'manifest.json',
      body: JSON.stringify([{ Config: 'config.json', RepoTags: ['team/app:v1'], Layers: ['layer0/layer.tar', 'layer1/layer.tar'] }])
    }
  ])
}, 60_000)

afterAll(async () => {
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

test('a docker save push: no MaxListenersExceededWarning, nor any other warning, on stderr', async () => {
  const entry = await transpileSources(join(dir, 'build'))
  const result = await runEntry(entry, { archive: join(dir, 'save.tar'), destRef: `${registry.host}/warnings/app` })
  expect(result.stdout.split('\n').filter((line) => line.startsWith('::error'))).toEqual([])
  expect(result.code).toBe(0)
  expect(await listTags(registry.host, 'warnings/app')).toEqual(['v1'])
  expect(result.stderr).not.toMatch(/MaxListenersExceededWarning/)
  expect(result.stderr).not.toMatch(/Warning/)
}, 120_000)
