/**
 * The V8 settings the entry points make (issue 17: peak memory flat in the artifact's size): which
 * Node versions get them, the young-generation collections every few MiB streamed, and that a
 * Node process (this test's Node, in a child) takes the flags at run time and collects when told to.
 */
import { afterEach, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import ts from 'typescript'
import { EVERY, streamed, useCollector } from '../src/young-collections.js'
import { TIERING_BUDGET, v8Flags } from '../src/v8-tuning.js'

afterEach(() => useCollector(undefined))

/** The Node majors `v8-tuning.ts` sets flags on; any other Node must be left alone. */
const MEASURED = new Set([20, 24])

/**
 * Runs `tuneV8()` in a Node process of its own (flags are process-wide: never in jest's), streams
 * 10 × EVERY through `streamed`, and reports whether it tuned, whether `gc` shows in a new context,
 * and how many minor collections Node's `gc` performance entries saw.
 */
async function inChild(setting: string): Promise<{ tuned: boolean; gcExposed: boolean; minor: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'oci-push-v8-'))
  try {
    for (const name of ['v8-tuning', 'young-collections']) {
      const source = await readFile(resolve('src', `${name}.ts`), 'utf8')
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
      })
      await writeFile(join(dir, `${name}.js`), outputText)
    }
    await writeFile(join(dir, 'package.json'), '{"type":"module"}')
    await writeFile(
      join(dir, 'child.js'),
      `import { PerformanceObserver, constants } from 'node:perf_hooks'
import { runInNewContext } from 'node:vm'
import { tuneV8 } from './v8-tuning.js'
import { EVERY, streamed } from './young-collections.js'
let minor = 0
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++
})
observer.observe({ entryTypes: ['gc'] })
const tuned = tuneV8()
for (let i = 0; i < 10; i++) streamed(EVERY)
await new Promise((resolve) => setTimeout(resolve, 50))
observer.disconnect()
console.log(JSON.stringify({ tuned, gcExposed: runInNewContext('typeof gc') === 'function', minor }))
`
    )
    const env = { ...process.env, NODE_OPTIONS: '', OCI_PUSH_V8_FLAGS: setting }
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'child.js')], { env })
    return JSON.parse(stdout) as { tuned: boolean; gcExposed: boolean; minor: number }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describe('which Node gets the flags', () => {
  test.each([
    ['20.20.2', [], true],
    ['24.21.0', [], true],
    // Not measured: left alone (V8 may ignore the flags, or abort if they are frozen).
    ['22.12.0', [], false],
    ['26.0.0', [], false],
    ['18.20.0', [], false],
    // Started with flags of its own about these: its choice stands.
    ['20.20.2', ['--freeze-flags-after-init'], false],
    ['24.21.0', ['--expose-gc'], false],
    ['24.21.0', ['--liftoff-only'], false],
    ['20.20.2', ['--wasm-tiering-budget=5'], false],
    // V8 reads `_` as `-`: the same flags spelled so.
    ['20.20.2', ['--freeze_flags_after_init'], false],
    ['24.21.0', ['--wasm_tiering_budget=5'], false],
    ['24.21.0', ['--expose_gc'], false],
    ['20.20.2', ['--enable-source-maps'], true]
  ] as const)('Node %s started with %j and OCI_PUSH_V8_FLAGS=on: flags set %s', (version, execArgv, expected) => {
    const flags = v8Flags(version, execArgv, { OCI_PUSH_V8_FLAGS: 'on' })
    expect(flags.length > 0).toBe(expected)
    if (expected) expect(flags).toEqual([`--wasm-tiering-budget=${TIERING_BUDGET}`, '--expose-gc'])
  })

  test('opt-in: V8 is left alone unless OCI_PUSH_V8_FLAGS=on', () => {
    expect(v8Flags('24.21.0', [], {})).toEqual([])
    expect(v8Flags('24.21.0', [], { OCI_PUSH_V8_FLAGS: 'off' })).toEqual([])
    expect(v8Flags('24.21.0', [], { OCI_PUSH_V8_FLAGS: '' })).toEqual([])
    expect(v8Flags('24.21.0', [], { OCI_PUSH_V8_FLAGS: 'on' })).toHaveLength(2)
  })

  test.each(['--expose-gc', '--max-old-space-size=512 --expose_gc', '--wasm-tiering-budget=1'])(
    'NODE_OPTIONS=%j is a choice of its own: V8 left alone even with OCI_PUSH_V8_FLAGS=on',
    (options) => {
      expect(v8Flags('20.20.2', [], { OCI_PUSH_V8_FLAGS: 'on', NODE_OPTIONS: options })).toEqual([])
    }
  )
})

describe('young-generation collections while streaming', () => {
  test('one collection per EVERY bytes, counted across calls and blobs', () => {
    let collections = 0
    useCollector(() => collections++)
    for (let i = 0; i < 9; i++) streamed(EVERY / 4)
    expect(collections).toBe(2)
    streamed(EVERY * 3)
    expect(collections).toBe(3)
    streamed(EVERY - 1)
    expect(collections).toBe(3)
  })

  test('without a collector nothing is called, and a new collector starts counting afresh', () => {
    let collections = 0
    streamed(EVERY * 10)
    useCollector(() => collections++)
    streamed(EVERY - 1)
    expect(collections).toBe(0)
    streamed(1)
    expect(collections).toBe(1)
    useCollector(undefined)
    streamed(EVERY * 10)
    expect(collections).toBe(1)
  })

  test.each([
    ['on', true],
    ['', false]
  ])(
    'in a process of its own, OCI_PUSH_V8_FLAGS=%j (expected to tune: %s on a measured Node): flags set at run time, then a minor collection per EVERY bytes streamed',
    async (setting, measured) => {
      const tuned = MEASURED.has(Number(process.versions.node.split('.')[0])) && measured
      const report = await inChild(setting)
      expect(report.tuned).toBe(tuned)
      // Without the flags `gc` stays hidden; with them a young-generation collection per EVERY bytes.
      expect(report.gcExposed).toBe(tuned)
      if (tuned) expect(report.minor).toBeGreaterThanOrEqual(10)
    }
  )
})
