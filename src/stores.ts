/**
 * Opens what an endpoint names: a registry repository (through {@link Registries}, with the
 * credentials of its side) or an OCI layout directory. The copy engine sees only Source and Target.
 */
import { access } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { isOpenedLocally, type Endpoint } from './endpoint.js'
import { InputError } from './errors.js'
import { fileSystemError, systemCode } from './files.js'
import { OciLayout } from './layout/oci-layout.js'
import type { Registries } from './registry/registries.js'
import type { LocalOpener, Source, Target } from './storage.js'
import { ArchiveWriter } from './layout/archive-writer.js'
import { param } from './words.js'

export class Stores implements LocalOpener<Endpoint> {
  private readonly archives = new Map<string, Source>()
  private readonly writers = new Map<string, ArchiveWriter>()

  constructor(private readonly registries: Registries) {}

  /** An archive opened (and indexed) once, or a package made, whose artifacts are then read as sources. */
  addLocal(kind: 'archive' | 'package', path: string, source: Source): void {
    this.archives.set(`${kind}:${resolve(path)}`, source)
  }

  async source(endpoint: Endpoint): Promise<Source> {
    if (endpoint.kind === 'registry') return this.registries.repository(endpoint.reference, 'source')
    if (isOpenedLocally(endpoint)) {
      const archive = this.archives.get(`${endpoint.kind}:${resolve(endpoint.path)}`)
      if (!archive) throw new Error(`internal: archive ${endpoint.path} was not opened`)
      return archive
    }
    if (endpoint.archive)
      throw new InputError('srcRef', `${endpoint.path} is an archive file; give it as ${param('archive')} to push what it holds`)
    const index = join(endpoint.path, 'index.json')
    try {
      await access(index)
    } catch (error) {
      // Nothing there is a layout that is not: what the user named is wrong. Any other refusal is the system's to say.
      if (systemCode(error) === 'ENOENT')
        throw new InputError('srcRef', `${endpoint.path} is not an OCI image layout (it has no index.json)`)
      throw fileSystemError(error, 'read the layout', endpoint.path)
    }
    return new OciLayout(endpoint.path)
  }

  async target(endpoint: Endpoint): Promise<Target> {
    if (endpoint.kind === 'registry') return this.registries.repository(endpoint.reference, 'destination')
    if (isOpenedLocally(endpoint))
      throw new InputError('destRef', `${endpoint.path} is an archive; archives are read, not written (give a layout directory)`)
    if (endpoint.archive) {
      // One writer per file for the whole step: every image of a bundle goes into it, each blob once.
      const key = resolve(endpoint.path)
      let writer = this.writers.get(key)
      if (!writer) {
        writer = new ArchiveWriter(endpoint.path, endpoint.archive === 'tar.gz')
        this.writers.set(key, writer)
      }
      return Promise.resolve(writer)
    }
    return Promise.resolve(new OciLayout(endpoint.path))
  }

  /** Archive files written in this step, renamed into place: call once every copy has succeeded. */
  async commit(): Promise<void> {
    for (const writer of this.writers.values()) await writer.commit()
  }

  /** Archive files of a step that failed: their temporary files removed, nothing left half written. */
  async discard(): Promise<void> {
    for (const writer of this.writers.values()) await writer.discard()
  }
}
