/**
 * V8 settings for a short process that mostly moves bytes, set by the entry points (the action and
 * the CLI) before the first request. Both were measured on Node 20 and 24 (docs/performance.md):
 *
 * - undici parses HTTP with WebAssembly, and V8 recompiles hot WebAssembly with its optimising
 *   tier in the background: 30–40 MiB of memory and some CPU for a parser that is not the
 *   bottleneck (bodies pass through it untouched). A tiering budget no copy spends keeps the
 *   baseline code: a small copy peaks at 69 MiB instead of 106 on Node 20, 80 instead of 101 on 24.
 * - `gc` is exposed so {@link useCollector} can run a young-generation collection every few MiB
 *   streamed (see `young-collections.ts`).
 *
 * Node documents `v8.setFlagsFromString` after start-up as unsupported ("unpredictable behaviour,
 * including crashes"), and V8 aborts when flags are frozen (`--freeze-flags-after-init`). A few
 * tens of MiB are not worth that risk on runners of 7–16 GB, so this is opt-in: only with
 * `OCI_PUSH_V8_FLAGS=on`, only on the Node majors these were measured on, and never when the
 * process was started with flags of its own about this (on its command line or in `NODE_OPTIONS`).
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { useCollector } from './young-collections.js'

/** Node majors whose V8 takes these flags at run time, as measured. */
const MEASURED_MAJORS = new Set([20, 24])

/** Well above what a copy of many GiB spends (V8's default is 1.8 million). */
export const TIERING_BUDGET = 2_000_000_000

/** Flags of the command line that say the user tunes V8 (or froze it) themselves; `_` and `-` alike, as V8 reads them. */
const OWN_FLAGS = /freeze-flags|wasm-tiering|expose-gc|liftoff|wasm-tier-up/

/** The flags to set for this Node, or none. Pure: `tuneV8` applies them. */
export function v8Flags(nodeVersion: string, execArgv: readonly string[], env: NodeJS.ProcessEnv = {}): string[] {
  if (env.OCI_PUSH_V8_FLAGS !== 'on') return []
  if (!MEASURED_MAJORS.has(Number(nodeVersion.split('.')[0]))) return []
  const own = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)]
  if (own.some((flag) => OWN_FLAGS.test(flag.replaceAll('_', '-')))) return []
  return [`--wasm-tiering-budget=${TIERING_BUDGET}`, '--expose-gc']
}

/** Sets {@link v8Flags} and hands the exposed collector to `young-collections.ts`; true when set. */
export function tuneV8(
  nodeVersion = process.versions.node,
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env
): boolean {
  const flags = v8Flags(nodeVersion, execArgv, env)
  if (flags.length === 0) return false
  for (const flag of flags) setFlagsFromString(flag)
  // `--expose-gc` set now shows `gc` only in contexts made after it: a new one's is the same collector.
  const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as ((options: { type: 'minor' }) => void) | undefined
  if (gc) useCollector(() => gc({ type: 'minor' }))
  return true
}
