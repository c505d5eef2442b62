/**
 * `path`: what is on disk made into an OCI artifact (DESIGN §1 use case 5), recognised by content:
 * a Helm chart directory (it holds Chart.yaml), a packaged chart (a gzip'd tar with
 * `<name>/Chart.yaml`), any other directory (one reproducible tar.gz layer that `oras pull`
 * unpacks), or a single file (one layer of its bytes). The result is a {@link Source} the copy engine pushes like any other.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, readFile, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { extract } from 'tar-stream'
import { deterministicGzip } from '../archive/layer-compression.js'
import { sha256 } from '../digest.js'
import { InputError } from '../errors.js'
import { MAX_MANIFEST_BYTES, type Descriptor } from '../manifest.js'
import { HELM_CHART_LAYER, HELM_CONFIG, isMediaType, OCI_EMPTY_CONFIG, OCI_MANIFEST } from '../media-types.js'
import type { FetchedManifest, Source } from '../storage.js'
import { chartConfig, chartTag, chartVersion, helmIgnore, parseChartYaml, withVersion, type ChartFile } from './helm.js'
import { gzipped, tarGzip, tarStream, walkTree } from './tree.js'

export type PackageKind = 'Helm chart directory' | 'packaged Helm chart' | 'directory' | 'file'

export interface PackageOptions {
  /** The manifest's artifactType (a directory or a file). */
  artifactType?: string
  /** The tag destRef gives, if any. */
  tag?: string
  /** SOURCE_DATE_EPOCH, for the mtimes in a tar. */
  sourceDateEpoch?: number
  /** Makes the artifact a referrer of this manifest (OCI 1.1 `subject`). */
  subject?: Descriptor
}

export interface Packaged {
  kind: PackageKind
  source: PackagedSource
  root: Descriptor
  /** The tag the package asks for (a chart's version), when destRef gives none. */
  tag?: string
  /** A chart's name (Chart.yaml): what `helm push` appends to an `oci://` destination. */
  chartName?: string
  notices: string[]
}

const TITLE = 'org.opencontainers.image.title'
/** oras-go content/file: the sha256 of a directory layer's uncompressed tar, and the mark to unpack it. */
const ORAS_DIGEST = 'io.deis.oras.content.digest'
const ORAS_UNPACK = 'io.deis.oras.content.unpack'
const EMPTY_JSON = Buffer.from('{}')

interface Blob {
  descriptor: Descriptor
  bytes?: Buffer
  open?: () => Readable
}

/** What a package holds: its manifest and blobs, made again on each read (never stored). */
export class PackagedSource implements Source {
  private readonly manifests = new Map<string, Buffer>()
  private readonly blobs = new Map<string, Blob>()

  constructor(readonly name: string) {}

  addBlob(blob: Blob): void {
    this.blobs.set(blob.descriptor.digest, blob)
  }

  addManifest(bytes: Buffer): Descriptor {
    const descriptor = { mediaType: OCI_MANIFEST, digest: sha256(bytes), size: bytes.length }
    this.manifests.set(descriptor.digest, bytes)
    return descriptor
  }

  fetchManifest(reference: string): Promise<FetchedManifest> {
    const bytes = this.manifests.get(reference)
    if (!bytes) return Promise.reject(new Error(`internal: no packaged manifest ${reference}`))
    return Promise.resolve({ bytes, contentType: OCI_MANIFEST })
  }

  fetchBlob(descriptor: Descriptor): Promise<Readable> {
    const blob = this.blobs.get(descriptor.digest)
    if (!blob) return Promise.reject(new Error(`internal: no packaged blob ${descriptor.digest}`))
    return Promise.resolve(blob.bytes ? Readable.from([blob.bytes]) : (blob.open as () => Readable)())
  }
}

export async function packagePath(path: string, options: PackageOptions): Promise<Packaged> {
  let info
  try {
    info = await stat(path)
  } catch {
    throw new InputError('path', `${path} does not exist`)
  }
  const mtime = options.sourceDateEpoch ?? 0
  if (info.isDirectory()) {
    const chartYaml = await readFile(join(path, 'Chart.yaml'), 'utf8').catch(() => undefined)
    if (chartYaml !== undefined) return packageChartDirectory(path, parseChartYaml(chartYaml, join(path, 'Chart.yaml')), mtime, options)
    return packageDirectory(path, mtime, options)
  }
  if (!info.isFile()) throw new InputError('path', `${path} is neither a file nor a directory`)
  const chart = await packagedChart(path)
  if (chart) return pushPackagedChart(path, chart, options)
  return packageFile(path, info.size, options)
}

function requireArtifactType(options: PackageOptions, what: string): string {
  const type = options.artifactType?.trim()
  if (!type) throw new InputError('artifactType', `required to package ${what}: a media type such as application/vnd.example.config.v1+tar`)
  if (!isMediaType(type))
    throw new InputError('artifactType', `"${type}" is not a media type (type/subtype, e.g. application/vnd.example.sbom.v1+json)`)
  return type
}

/** The manifest of a packaged artifact: config, one layer, and the annotations and subject given. */
function manifestOf(
  config: Descriptor,
  layer: Descriptor,
  extra: { artifactType?: string; annotations?: Record<string, string>; subject?: Descriptor }
): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      ...(extra.artifactType ? { artifactType: extra.artifactType } : {}),
      config,
      layers: [layer],
      ...(extra.subject ? { subject: extra.subject } : {}),
      ...(extra.annotations ? { annotations: extra.annotations } : {})
    })
  )
}

/** Digest and size of a stream made by `open`, measured without keeping it. */
async function measure(open: () => Readable): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of open()) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { digest: `sha256:${hash.digest('hex')}`, size }
}

/** Digest and size of a tar made by `tar`, gzip'd as it is pushed, and the digest of the tar itself. */
async function measureTarGzip(tar: () => Readable): Promise<{ digest: string; size: number; tarDigest: string }> {
  const tarHash = createHash('sha256')
  const hash = createHash('sha256')
  let size = 0
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      tarHash.update(chunk)
      done(null, chunk)
    }
  })
  await pipeline(tar(), tap, deterministicGzip(), async (gzip: AsyncIterable<Buffer>) => {
    for await (const chunk of gzip) {
      hash.update(chunk)
      size += chunk.length
    }
  })
  return { digest: `sha256:${hash.digest('hex')}`, size, tarDigest: `sha256:${tarHash.digest('hex')}` }
}

function emptyConfig(source: PackagedSource): Descriptor {
  const descriptor = { mediaType: OCI_EMPTY_CONFIG, digest: sha256(EMPTY_JSON), size: EMPTY_JSON.length }
  source.addBlob({ descriptor, bytes: EMPTY_JSON })
  return descriptor
}

/**
 * A directory as `oras push` packs one (oras-go content/file), so that `oras pull` unpacks it back
 * into `<name>/`: a tar.gz layer whose entries sit under `<name>/` (the directory itself first),
 * titled `<name>`, marked for unpacking, with the sha256 of the uncompressed tar that oras checks
 * while it unpacks. Annotation keys sorted, as oras writes them from a Go map.
 */
async function packageDirectory(path: string, mtime: number, options: PackageOptions): Promise<Packaged> {
  const artifactType = requireArtifactType(options, 'a directory')
  const name = basename(resolve(path))
  if (!name) throw new InputError('path', `${path} is the root directory; give the directory to package`)
  const { entries } = await walkTree(path)
  const source = new PackagedSource(path)
  const tar = () => tarStream(entries, { mtime, prefix: `${name}/`, prefixEntry: true })
  const open = () => gzipped(tar())
  const { tarDigest, ...measured } = await measureTarGzip(tar)
  const layer: Descriptor = {
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    ...measured,
    annotations: { [ORAS_DIGEST]: tarDigest, [ORAS_UNPACK]: 'true', [TITLE]: name }
  }
  source.addBlob({ descriptor: layer, open })
  const root = source.addManifest(manifestOf(emptyConfig(source), layer, { artifactType, ...subjectOf(options) }))
  return { kind: 'directory', source, root, notices: [] }
}

async function packageFile(path: string, size: number, options: PackageOptions): Promise<Packaged> {
  const artifactType = requireArtifactType(options, 'a file')
  const source = new PackagedSource(path)
  const open = () => createReadStream(path)
  const layer: Descriptor = {
    mediaType: (await isJsonFile(path, size)) ? 'application/json' : 'application/octet-stream',
    ...(await measure(open)),
    annotations: { [TITLE]: basename(path) }
  }
  source.addBlob({ descriptor: layer, open })
  const root = source.addManifest(manifestOf(emptyConfig(source), layer, { artifactType, ...subjectOf(options) }))
  return { kind: 'file', source, root, notices: [] }
}

async function isJsonFile(path: string, size: number): Promise<boolean> {
  if (size === 0 || size > MAX_MANIFEST_BYTES) return false
  try {
    JSON.parse(await readFile(path, 'utf8'))
    return true
  } catch {
    return false
  }
}

function subjectOf(options: PackageOptions): { subject?: Descriptor } {
  return options.subject ? { subject: options.subject } : {}
}

async function packageChartDirectory(path: string, chart: ChartFile, mtime: number, options: PackageOptions): Promise<Packaged> {
  const { version, notices } = chartVersion(chart, options.tag)
  const ignoreText = await readFile(join(path, '.helmignore'), 'utf8').catch(() => '')
  // Links are followed, as helm package follows them: the chart holds what they point to.
  const tree = await walkTree(path, helmIgnore(ignoreText), 'follow')
  const replace = new Map<string, Buffer>()
  if (version !== chart.version) replace.set('Chart.yaml', withVersion(chart, version))
  const source = new PackagedSource(path)
  const open = () => tarGzip(tree.entries, { mtime, prefix: `${chart.name}/`, replace, first: ['Chart.yaml'] })
  const layer = { mediaType: HELM_CHART_LAYER, ...(await measure(open)) }
  return chartArtifact(source, chart, version, layer, open, [...tree.notices, ...notices], options)
}

function chartArtifact(
  source: PackagedSource,
  chart: ChartFile,
  version: string,
  layer: Descriptor,
  open: () => Readable,
  notices: string[],
  options: PackageOptions
): Packaged {
  const configBytes = chartConfig(chart, version)
  const config = { mediaType: HELM_CONFIG, digest: sha256(configBytes), size: configBytes.length }
  source.addBlob({ descriptor: config, bytes: configBytes })
  source.addBlob({ descriptor: layer, open })
  const annotations: Record<string, string> = {
    [TITLE]: chart.name,
    'org.opencontainers.image.version': version,
    ...(chart.description ? { 'org.opencontainers.image.description': chart.description } : {})
  }
  const root = source.addManifest(manifestOf(config, layer, { annotations, ...subjectOf(options) }))
  return { kind: 'Helm chart directory', source, root, tag: chartTag(version), chartName: chart.name, notices }
}

/** Chart.yaml of a packaged chart (`<name>/Chart.yaml` in a gzip'd tar), or undefined when the file is none. */
async function packagedChart(path: string): Promise<ChartFile | undefined> {
  const head = Buffer.alloc(2)
  const handle = await open(path, 'r')
  try {
    await handle.read(head, 0, 2, 0)
  } finally {
    await handle.close()
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) return undefined
  const tar = extract()
  const file = createReadStream(path)
  const gunzip = createGunzip()
  gunzip.on('error', (error) => tar.destroy(error))
  file.pipe(gunzip).pipe(tar)
  try {
    for await (const entry of tar) {
      const parts = entry.header.name.replace(/^\.\//, '').split('/')
      if (parts.length === 2 && parts[1] === 'Chart.yaml' && (entry.header.size ?? 0) <= MAX_MANIFEST_BYTES) {
        const chunks: Buffer[] = []
        for await (const chunk of entry) chunks.push(chunk as Buffer)
        return parseChartYaml(Buffer.concat(chunks).toString('utf8'), `${path}: ${parts.join('/')}`)
      }
      entry.resume()
    }
  } catch (error) {
    if (error instanceof InputError) throw error
    return undefined
  } finally {
    file.destroy()
  }
  return undefined
}

async function pushPackagedChart(path: string, chart: ChartFile, options: PackageOptions): Promise<Packaged> {
  const { version, notices } = chartVersion(chart, options.tag)
  if (version !== chart.version) {
    throw new InputError(
      'destRef',
      `the tag ${options.tag} differs from the packaged chart's version ${chart.version}; Helm needs them equal (package it again, or give the chart directory as path)`
    )
  }
  const source = new PackagedSource(path)
  const open = () => createReadStream(path)
  const packaged = chartArtifact(source, chart, version, { mediaType: HELM_CHART_LAYER, ...(await measure(open)) }, open, notices, options)
  return { ...packaged, kind: 'packaged Helm chart' }
}
