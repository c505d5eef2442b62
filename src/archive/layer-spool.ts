/**
 * Where a legacy `docker save` layer's gzip'd bytes wait between being measured and being
 * uploaded, so each layer is compressed once. The plan needs every layer's digest before anything
 * is pushed (the manifest names them), so the files of an archive are all written when it is
 * opened and kept until it is closed: disk use is the gzip'd size of the archive's legacy layers,
 * for as long as its pushes run. They live in one directory made with `mkdtemp` under
 * `RUNNER_TEMP` (which the runner empties after every job) or else the OS temp dir, removed on
 * {@link LayerSpool.close}, when opening the archive fails, and at the latest when the process exits.
 */
import { createWriteStream, rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { isSystemError, systemReason } from '../files.js'
import { formatBytes } from '../size.js'
import { readFileStream } from '../streams.js'
import { measureCompressed, type CompressedLayer, type MeasureOptions } from './layer-compression.js'

/** A measured layer and the file holding its gzip'd bytes. */
export interface SpooledLayer extends CompressedLayer {
  file: string
}

/** The spool's parent directory: `RUNNER_TEMP` on a runner, else the OS temp dir. */
export function spoolRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.RUNNER_TEMP || tmpdir()
}

/** The temporary directory could not be made or written: full, missing or not writable. */
export class TemporarySpaceError extends Error {
  constructor(
    readonly directory: string,
    /** `ENOSPC`, `EDQUOT`, `EACCES`, `ENOENT`… */
    readonly code: string | undefined,
    problem: string
  ) {
    super(`temporary directory ${directory}: ${problem}`)
    this.name = 'TemporarySpaceError'
  }
}

export interface SpoolOptions {
  /** The parent directory ({@link spoolRoot} by default). */
  root?: string
  /** Opens a spool file for writing (a test hands in one that fails). */
  createFile?: (path: string) => Writable
  makeGzip?: MeasureOptions['makeGzip']
}

/** Directories not yet removed, removed synchronously if the process exits first. */
const live = new Set<string>()
let exitHookInstalled = false

function removeLive(): void {
  for (const directory of live) rmSync(directory, { recursive: true, force: true })
  live.clear()
}

export class LayerSpool {
  private directory: Promise<string> | undefined
  private files = 0
  private closed = false

  constructor(private readonly options: SpoolOptions = {}) {}

  /**
   * Compresses `layer` once, keeping its gzip'd bytes in a new file; `what` names it in errors
   * (`archive.tar entry "abc/layer.tar"`). A failure removes the file and, when the disk is to
   * blame, says which directory and how much had been written.
   */
  async keep(layer: Readable, what: string): Promise<SpooledLayer> {
    const directory = await this.made().catch((error: unknown) => {
      layer.destroy()
      throw error
    })
    const file = join(directory, `${this.files++}.gz`)
    const output = (this.options.createFile ?? createWriteStream)(file)
    let written: Error | undefined
    output.once('error', (error: Error) => (written = error))
    try {
      const measured = await measureCompressed(layer, this.options.makeGzip ? { output, makeGzip: this.options.makeGzip } : { output })
      return { ...measured, file }
    } catch (error) {
      output.destroy()
      await rm(file, { force: true })
      if (!written) throw error
      throw writeFailure(directory, written, what, output)
    }
  }

  /** The gzip'd bytes of a layer this spool holds. */
  open(layer: SpooledLayer, signal?: AbortSignal): Readable {
    if (this.closed) throw new Error(`internal: ${layer.file} was read after its spool was closed`)
    return readFileStream(layer.file, { expectedSize: layer.size, ...(signal ? { signal } : {}) })
  }

  /** Removes a file no image uses (a gzip'd tar's first pass keeps every file that could be a layer). */
  async discard(layer: SpooledLayer): Promise<void> {
    await rm(layer.file, { force: true })
  }

  /** Removes every file and the directory; nothing may be read after. */
  async close(): Promise<void> {
    this.closed = true
    const directory = await this.directory?.catch(() => undefined)
    if (!directory) return
    await rm(directory, { recursive: true, force: true })
    live.delete(directory)
  }

  /** The directory, made on first use (an archive with no legacy layer makes none). */
  private made(): Promise<string> {
    if (this.closed) return Promise.reject(new Error('internal: a layer was spooled after its spool was closed'))
    this.directory ??= makeDirectory(this.options.root ?? spoolRoot())
    return this.directory
  }
}

async function makeDirectory(root: string): Promise<string> {
  let directory: string
  try {
    directory = await mkdtemp(join(root, 'oci-push-layers-'))
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException
    throw new TemporarySpaceError(
      root,
      code,
      `cannot make a directory for gzip'd layers there (${said(error as Error)}); set RUNNER_TEMP to a writable directory`
    )
  }
  live.add(directory)
  if (!exitHookInstalled) {
    process.once('exit', removeLive)
    exitHookInstalled = true
  }
  return directory
}

function writeFailure(directory: string, error: Error, what: string, output: Writable): TemporarySpaceError {
  const { code } = error as NodeJS.ErrnoException
  const wrote = formatBytes((output as Writable & { bytesWritten?: number }).bytesWritten ?? 0)
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new TemporarySpaceError(
      directory,
      code,
      `no space left for the gzip'd copy of ${what} (${code}, ${wrote} written); free space there, or set RUNNER_TEMP to a directory on a larger disk`
    )
  }
  return new TemporarySpaceError(directory, code, `cannot write the gzip'd copy of ${what} (${said(error)})`)
}

/** `EACCES: permission denied`: the system's code and reason, without the call and path Node's message adds. */
function said(error: Error): string {
  return isSystemError(error) ? `${error.code}: ${systemReason(error)}` : error.message
}
