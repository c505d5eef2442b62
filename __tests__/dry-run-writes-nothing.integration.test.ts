/**
 * A dry run writes nothing, whatever the inputs (issue 23 §2): every kind of step — copy, archive,
 * package (with `subject` too), mirror — run as the action and as the CLI with a dry run, against
 * registries whose access logs must then hold reads only (GET, HEAD). A planted write (a referrer
 * recorded, a mount, a tag moved) shows up there as a POST, PUT, PATCH or DELETE.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction } from '../testbed/action.js'
import { runCli } from '../testbed/cli.js'
import { descriptor, image, index, makeBlob, pushFixture, referrer, type Fixture } from '../testbed/fixtures.js'
import { writes } from '../testbed/hostile.js'
import { skopeoExport } from '../testbed/layouts.js'
import { startRegistry, type AccessLogEntry, type TestRegistry } from '../testbed/registry.js'
import { requireTools } from '../testbed/tools.js'
import type { MirroredObject } from '../src/engine/mirror.js'

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const SBOM = 'application/spdx+json'

/** Source and first destination: same-registry copies would mount here. */
let reg: TestRegistry
/** Another registry: cross-registry copies would upload here. */
let other: TestRegistry
let dir: string

const app = index([image({ seed: 'dry-writes-amd64', layers: 2 }), image({ seed: 'dry-writes-arm64', architecture: 'arm64' })])
const sbom = referrer(app.root, SBOM)
const older = image({ seed: 'dry-writes-older' })

/** The tag schema index (`sha256-<hex>`) listing `referrers`, as a registry without the API holds them. */
function tagSchemaIndex(referrers: readonly Fixture[]): Fixture {
  const manifests = referrers.map((r) => descriptor(r.root, { artifactType: SBOM }))
  return {
    root: makeBlob(OCI_INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }))),
    children: [],
    blobs: []
  }
}

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  ;[reg, other] = await Promise.all([startRegistry({ accessLog: true }), startRegistry({ accessLog: true })])
  dir = await mkdtemp(join(tmpdir(), 'oci-push-dry-writes-'))
  // A multi-arch app with an SBOM in the tag schema, and destinations that hold an older build.
  await pushFixture(reg.host, 'seed/app', app, 'v1')
  await pushFixture(reg.host, 'seed/app', sbom)
  await pushFixture(reg.host, 'seed/app', tagSchemaIndex([sbom]), app.root.digest.replace(':', '-'))
  await pushFixture(reg.host, 'seed/app', older, '0.9')
  await pushFixture(reg.host, 'dest/app', older, 'v1')
  await pushFixture(other.host, 'dest/app', older, 'v1')
  // Up to date but for its SBOM: a mirror run would copy the referrer alone.
  await pushFixture(other.host, 'uptodate/app', app, 'v1')
  // Archives: an OCI layout tarball and a legacy docker save (whose layers a real run compresses and uploads ahead).
  await skopeoExport(`${reg.host}/seed/app:0.9`, `oci-archive:${join(dir, 'app.oci.tar')}:v1`)
  await skopeoExport(`${reg.host}/seed/app:0.9`, `docker-archive:${join(dir, 'app.docker.tar')}:example.com/team/app:v1`)
  // What path packages: a file, a directory, a Helm chart; and a mirror config in the workspace.
  await writeFile(join(dir, 'sbom.spdx.json'), JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'app' }))
  await mkdir(join(dir, 'notes'))
  await writeFile(join(dir, 'notes', 'notes.txt'), 'release notes\n')
  await mkdir(join(dir, 'mychart', 'templates'), { recursive: true })
  await writeFile(join(dir, 'mychart', 'Chart.yaml'), 'apiVersion: v2\nname: mychart\nversion: 0.1.0\n')
  await writeFile(join(dir, 'mychart', 'templates', 'cm.yaml'), 'kind: ConfigMap\n')
  await writeFile(join(dir, 'mirror.yml'), mirrorConfig())
  // The SBOM packaged once for real: a dry run that recorded it as a referrer would PUT an index
  // the registry accepts (it holds the manifest listed), and only the access log would tell.
  const attached = await runAction({ path: join(dir, 'sbom.spdx.json'), artifactType: SBOM, subject: `${reg.host}/seed/app:v1` })
  if (attached.exitCode !== 0) throw new Error(`seed: attaching the SBOM failed:\n${attached.stdout}`)
}, 120_000)

afterAll(async () => {
  await Promise.all([reg, other].map((r) => r?.stop()))
  if (dir) await rm(dir, { recursive: true, force: true })
})

function mirrorConfig(): string {
  return `defaults: { referrers: true }
mirrors:
  - source: ${reg.host}/seed/app
    destination: ${other.host}/mirror/app
    tags: { allow: ['v.*', '0\\.9'] }
  - source: ${reg.host}/seed/app:v1
    destination: ${reg.host}/mirror/app
    annotations: ['org.example.mirrored=yes']
  - source: ${reg.host}/seed/app:v1
    destination: ${other.host}/uptodate/app
`
}

/**
 * Before each step the tag schema index lists the first SBOM only (the attached one too would
 * make recording it a no-op), so that every step could be the first to record the referrer.
 */
beforeEach(() => pushFixture(reg.host, 'seed/app', tagSchemaIndex([sbom]), app.root.digest.replace(':', '-')))

/** Both access logs emptied once every line of the requests so far has come in. */
async function clearLogs(): Promise<void> {
  for (const r of [reg, other]) {
    await r.accessLog()
    r.clearAccessLog()
  }
}

/** Every request both registries logged since {@link clearLogs}. */
async function logged(): Promise<AccessLogEntry[]> {
  return (await Promise.all([reg, other].map((r) => r.accessLog()))).flat()
}

/** The inputs of each kind of step, with `dryRun: true`. */
const ACTION_STEPS: Array<[string, () => Record<string, string>]> = [
  [
    'copy to both registries, rewritten by annotations, referrers too, over tags that hold another digest',
    () => ({
      srcRef: `${reg.host}/seed/app:v1`,
      destRef: `${reg.host}/dest/app:v1\n${other.host}/dest/app:v1\n${other.host}/dest/app:latest`,
      annotations: 'org.example.promoted=yes',
      referrers: 'true'
    })
  ],
  ['copy: a retag in the same repository', () => ({ srcRef: `${reg.host}/seed/app:v1`, destRef: `${reg.host}/seed/app:v2` })],
  ['copy: one platform', () => ({ srcRef: `${reg.host}/seed/app:v1`, destRef: `${other.host}/one/app:v1`, platforms: 'linux/arm64' })],
  ['archive: an OCI layout tarball', () => ({ archive: join(dir, 'app.oci.tar'), destRef: `${reg.host}/archive/app:v1` })],
  ['archive: a docker save under a tag', () => ({ archive: join(dir, 'app.docker.tar'), destRef: `${reg.host}/archive/docker:v1` })],
  ['archive: a docker save under a prefix', () => ({ archive: join(dir, 'app.docker.tar'), destRef: `${other.host}/prefix/` })],
  [
    'package with subject (into the subject repository, recorded as its referrer)',
    () => ({ path: join(dir, 'sbom.spdx.json'), artifactType: SBOM, subject: `${reg.host}/seed/app:v1` })
  ],
  [
    'package with subject and destRef',
    () => ({ path: join(dir, 'sbom.spdx.json'), artifactType: SBOM, subject: `${reg.host}/seed/app:v1`, destRef: `${reg.host}/seed/app` })
  ],
  [
    'package with subject, never pushed before (its manifest and blobs not there yet)',
    () => ({ path: join(dir, 'notes'), artifactType: 'application/vnd.example.notes.v1', subject: `${reg.host}/seed/app:v1` })
  ],
  [
    'package a directory',
    () => ({ path: join(dir, 'notes'), artifactType: 'application/vnd.example.notes.v1', destRef: `${other.host}/notes:v1` })
  ],
  ['package a chart to an oci:// namespace', () => ({ path: join(dir, 'mychart'), destRef: `oci://${reg.host}/charts` })],
  ['mirror', () => ({ mirror: 'mirror.yml' })]
]

describe('a dry run of the action writes nothing', () => {
  test.each(ACTION_STEPS)('%s', async (_name, inputs) => {
    await clearLogs()
    const run = await runAction({ ...inputs(), dryRun: 'true' }, { GITHUB_WORKSPACE: dir })
    expect(run.stdout.split('\n').filter((line) => line.startsWith('::error'))).toEqual([])
    expect(run.exitCode).toBe(0)
    // Something was planned: a step that planned nothing would prove nothing.
    if (run.outputs.mirrored) {
      const statuses = (JSON.parse(run.outputs.mirrored) as MirroredObject[]).map((row) => row.status)
      expect(statuses.sort()).toEqual(['planned', 'planned', 'planned', 'skipped'])
    } else expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    const log = await logged()
    // The plan read the registries: a log that saw nothing would prove nothing either.
    expect(log.length).toBeGreaterThan(0)
    expect(writes(log)).toEqual([])
  })
})

const CLI_STEPS: Array<[string, () => string[]]> = [
  [
    'copy',
    () => ['copy', `${reg.host}/seed/app:v1`, `${reg.host}/dest/app:v1`, `${other.host}/dest/app:v1`, '--referrers', '--annotation', 'a=b']
  ],
  ['push', () => ['push', join(dir, 'app.docker.tar'), '--to', `${reg.host}/archive/cli:v1`, '--to', `${other.host}/prefix/`]],
  ['package --subject', () => ['package', join(dir, 'sbom.spdx.json'), '--artifact-type', SBOM, '--subject', `${reg.host}/seed/app:v1`]],
  ['mirror', () => ['mirror', join(dir, 'mirror.yml')]]
]

describe('oci-push COMMAND --dry-run writes nothing', () => {
  test.each(CLI_STEPS)('%s', async (_name, args) => {
    await clearLogs()
    const run = await runCli([...args(), '--dry-run', '--quiet'])
    expect(run.stderr).toBe('')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(/would (push|copy)/)
    const log = await logged()
    expect(log.length).toBeGreaterThan(0)
    expect(writes(log)).toEqual([])
  })
})
