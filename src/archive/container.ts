/**
 * What an archive holds, whatever holds it: a plain tar read in place, a gzip'd tar streamed, or
 * a layout directory. Files are read by name: small ones (JSON) whole and capped, others as
 * streams.
 */
import type { Readable } from 'node:stream'

/** JSON files (manifests, configs, index.json, manifest.json) are capped at this size. */
export const MAX_JSON_BYTES = 4 * 1024 * 1024

export interface ArchiveContainer {
  /** The file or directory, for messages. */
  readonly path: string
  /** Every file's name (links included). */
  names(): string[]
  /** The name of the file `name` is, after links. */
  canonicalName(name: string): string
  /** Size of the file `name` (after links), or undefined when there is none. */
  size(name: string): number | undefined
  /** A small file whole; an error naming it when it is missing or over {@link MAX_JSON_BYTES}. */
  readSmall(name: string): Promise<Buffer>
  /** A file's bytes as a stream. */
  open(name: string, signal?: AbortSignal): Promise<Readable>
  /**
   * Files of a gzip'd tar can only be read in the order they are stored: callers ask for them in
   * the order this gives (their position in the archive).
   */
  readonly sequential: boolean
  position(name: string): number
}
