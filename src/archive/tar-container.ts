/** A plain tar file as an {@link ArchiveContainer}: indexed once, every file a byte range. */
import type { Readable } from 'node:stream'
import { ContentError } from '../errors.js'
import { readCapped } from '../streams.js'
import { MAX_JSON_BYTES, type ArchiveContainer } from './container.js'
import { indexTarFile, type TarFile } from './tar-file.js'
import type { TarEntry } from './tar-entries.js'

export class TarContainer implements ArchiveContainer {
  readonly sequential = false

  private constructor(private readonly tar: TarFile) {}

  static async open(path: string): Promise<TarContainer> {
    return new TarContainer(await indexTarFile(path))
  }

  get path(): string {
    return this.tar.path
  }

  names(): string[] {
    return [...this.tar.entries.names()]
  }

  canonicalName(name: string): string {
    return this.tar.entries.file(name)?.name ?? name
  }

  size(name: string): number | undefined {
    return this.tar.entries.file(name)?.size
  }

  position(name: string): number {
    return this.tar.entries.file(name)?.offset ?? 0
  }

  async readSmall(name: string): Promise<Buffer> {
    const entry = this.entry(name)
    if (entry.size > MAX_JSON_BYTES) throw new ContentError(this.path, `entry "${name}" is larger than ${MAX_JSON_BYTES} bytes`)
    return readCapped(this.tar.open(entry), MAX_JSON_BYTES, name)
  }

  open(name: string, signal?: AbortSignal): Promise<Readable> {
    return Promise.resolve(this.tar.open(this.entry(name), signal))
  }

  private entry(name: string): TarEntry {
    const entry = this.tar.entries.file(name)
    if (!entry) throw new ContentError(this.path, `entry "${name}" is missing`)
    return entry
  }
}
