/**
 * The file system as layouts, archives and the spool use it: a system call's error said as a
 * {@link FileSystemError} (what could not be done, to which path, and the system's reason in
 * words), and directories made in a bounded number of steps.
 */
import type { Stats } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import { dirname, normalize } from 'node:path'
import { getSystemErrorMap } from 'node:util'
import { FileSystemError } from './errors.js'

/**
 * An error a system call gave (`open`, `mkdir`, `rename`…): it names the call and has a code.
 * Told by those, not by `instanceof Error` (Node makes them in its own realm, which a VM's differs from).
 */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string; syscall: string } {
  if (typeof error !== 'object' || error === null) return false
  const { code, syscall } = error as NodeJS.ErrnoException
  return typeof code === 'string' && typeof syscall === 'string'
}

/** The code of a system call's error (`ENOENT`); undefined for any other error. */
export function systemCode(error: unknown): string | undefined {
  return isSystemError(error) ? error.code : undefined
}

let errorWords: Map<number, [string, string]> | undefined

/** The system's words for a system call's error (`permission denied` for EACCES), as libuv has them. */
export function systemReason(error: NodeJS.ErrnoException): string {
  errorWords ??= getSystemErrorMap()
  return (error.errno !== undefined ? errorWords.get(error.errno)?.[1] : undefined) ?? error.code ?? 'failed'
}

/** How a system call's error is said. */
export interface Said {
  /** What to do about it, by the error's code. */
  hint?: (code: string) => string | undefined
  /**
   * The path is where it failed: the one the system call named (a temporary name of the same
   * file) is not shown.
   */
  exact?: boolean
}

/**
 * `error` as a {@link FileSystemError}: `operation` could not be done to `path`, for the system's
 * reason, at the path the system call named (when another). Any error no system call gave (a
 * digest mismatch, an abort, the source's) is returned as it is.
 */
export function fileSystemError(error: unknown, operation: string, path: string, said: Said = {}): unknown {
  if (!isSystemError(error)) return error
  const at = said.exact ? undefined : error.path
  return new FileSystemError(operation, path, error.code, systemReason(error), at, said.hint?.(error.code))
}

/** `run`, whose system call errors become {@link FileSystemError}s: `operation` could not be done to `path`. */
export async function onFile<T>(operation: string, path: string, run: () => Promise<T>, said: Said = {}): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw fileSystemError(error, operation, path, said)
  }
}

/** What to do about a directory or file that could not be made or written, when the reason leaves it open. */
export function writeHint(code: string): string | undefined {
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'free space there, or give a directory on another disk'
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return 'give a directory this user can write'
  return undefined
}

/** The path's status; undefined when nothing is there (or a part of the path is a file). */
async function statOrNone(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path)
  } catch (error) {
    const code = systemCode(error)
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw error
  }
}

/**
 * `mkdir -p path`: a `stat` up each part of the path to the nearest one that is there, then each
 * missing directory made once, the first refusal thrown as the system gave it. Not
 * `mkdir(path, { recursive: true })`: Node's (20.20 here) goes back and forth for ever when a
 * directory cannot be made although its parent is there — mkdir says ENOENT (under /proc, through
 * a dangling symlink), its parent EEXIST — spinning a thread at 100% CPU, the promise never settled.
 */
export async function makeDirectories(path: string): Promise<void> {
  const missing: string[] = []
  let current = normalize(path)
  let found = await statOrNone(current)
  // Each step is a part shorter, down to `/` or `.`, which dirname leaves as they are.
  while (!found) {
    const parent = dirname(current)
    if (parent === current) break
    missing.push(current)
    current = parent
    found = await statOrNone(current)
  }
  // Nothing to make: the path is there, and a directory, or mkdir says what it is instead (EEXIST).
  if (missing.length === 0 && !found?.isDirectory()) await mkdir(current)
  for (const directory of missing.reverse()) {
    try {
      await mkdir(directory)
    } catch (error) {
      // Made meanwhile by another write to the same layout: fine, when it is a directory.
      if (systemCode(error) !== 'EEXIST' || !(await statOrNone(directory))?.isDirectory()) throw error
    }
  }
}
