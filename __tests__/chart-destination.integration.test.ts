/**
 * Charts land where Helm users expect (issue 23 §4): `oci://host/charts` without a tag is Helm's
 * namespace form, so the chart goes to `host/charts/<name>:<version>` as `helm push` puts it; any
 * other form names the repository exactly. Run as the action and as the CLI against a registry,
 * which is asked where the chart went.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../testbed/action.js'
import { runCli } from '../testbed/cli.js'
import { image, listTags, pushFixture, rawManifest } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, run } from '../testbed/tools.js'

let registry: TestRegistry
let dir: string
let chart: string
const app = image({ seed: 'chart-destination-app' })

async function writeChart(path: string, name: string, version: string): Promise<void> {
  await mkdir(join(path, 'templates'), { recursive: true })
  await writeFile(join(path, 'Chart.yaml'), `apiVersion: v2\nname: ${name}\nversion: ${version}\n`)
  await writeFile(join(path, 'templates', 'configmap.yaml'), 'kind: ConfigMap\n')
}

beforeAll(async () => {
  await requireTools(['docker-registry', 'tar'])
  registry = await startRegistry()
  dir = await mkdtemp(join(tmpdir(), 'oci-push-chart-destination-'))
  chart = join(dir, 'mychart')
  await writeChart(chart, 'mychart', '0.1.0')
  await pushFixture(registry.host, 'attach/app', app, 'v1')
}, 60_000)

afterAll(async () => {
  await registry?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const errors = (result: ActionRun) => result.stdout.split('\n').filter((l) => l.startsWith('::error'))

/** The repositories the registry holds, from its catalog. */
async function catalog(): Promise<string[]> {
  const res = await fetch(`http://${registry.host}/v2/_catalog`)
  return ((await res.json()) as { repositories: string[] }).repositories
}

describe('the action: path with a chart', () => {
  test('oci://host/charts (no tag) is the namespace helm push reads: host/charts/mychart:0.1.0', async () => {
    const result = await runAction({ path: chart, destRef: `oci://${registry.host}/helm/charts` })
    expect(errors(result)).toEqual([])
    expect(result.outputs.image).toBe(`${registry.host}/helm/charts/mychart:0.1.0`)
    expect(result.outputs.tag).toBe('0.1.0')
    expect(await listTags(registry.host, 'helm/charts/mychart')).toEqual(['0.1.0'])
    expect(await listTags(registry.host, 'helm/charts')).toEqual([])
    const manifest = JSON.parse(await rawManifest(registry.host, 'helm/charts/mychart', '0.1.0')) as { config: { mediaType: string } }
    expect(manifest.config.mediaType).toBe('application/vnd.cncf.helm.config.v1+json')
  })

  test.each([
    ['no oci://, no tag: the repository itself, at the version', (host: string) => `${host}/exact/charts`, 'exact/charts', '0.1.0'],
    ['oci:// with a tag: the repository itself', (host: string) => `oci://${host}/tagged/charts:0.1.0`, 'tagged/charts', '0.1.0'],
    ['no oci://, with a tag', (host: string) => `${host}/plain-tagged/charts:0.1.0`, 'plain-tagged/charts', '0.1.0']
  ])('%s', async (_name, destRef, repository, tag) => {
    const result = await runAction({ path: chart, destRef: destRef(registry.host) })
    expect(errors(result)).toEqual([])
    expect(result.outputs.image).toBe(`${registry.host}/${repository}:${tag}`)
    expect(result.outputs.tag).toBe(tag)
    expect(await listTags(registry.host, repository)).toEqual([tag])
    expect(await listTags(registry.host, `${repository}/mychart`)).toEqual([])
  })

  test('a packaged .tgz goes under its name too; both forms in one step land once', async () => {
    const tgz = join(dir, 'mychart-0.1.0.tgz')
    await run('tar', ['-czf', tgz, '-C', dir, 'mychart'])
    const result = await runAction({
      path: tgz,
      destRef: `oci://${registry.host}/tgz/charts\n${registry.host}/tgz/charts/mychart:0.1.0`
    })
    expect(errors(result)).toEqual([])
    expect(result.outputs.image).toBe(`${registry.host}/tgz/charts/mychart:0.1.0`)
    expect((JSON.parse(result.outputs.pushed) as Array<{ ref: string }>).map((p) => p.ref)).toEqual([
      `${registry.host}/tgz/charts/mychart:0.1.0`
    ])
    expect(await listTags(registry.host, 'tgz/charts/mychart')).toEqual(['0.1.0'])
  })

  test('a dry run names the repository the chart would go to, and writes nothing', async () => {
    const result = await runAction({ path: chart, destRef: `oci://${registry.host}/dry/charts`, dryRun: 'true' })
    expect(errors(result)).toEqual([])
    expect(result.outputs.image).toBe(`${registry.host}/dry/charts/mychart:0.1.0`)
    expect((await catalog()).filter((r) => r.startsWith('dry/'))).toEqual([])
  })

  test('a chart name no repository can hold: one error naming destRef and what to write instead, nothing pushed', async () => {
    const upper = join(dir, 'upper')
    await writeChart(upper, 'MyChart', '1.0.0')
    const result = await runAction({ path: upper, destRef: `oci://${registry.host}/upper/charts` })
    expect(result.exitCode).toBe(1)
    expect(errors(result)).toEqual([
      expect.stringMatching(
        /^::error::destRef: .*upper\/charts with oci:\/\/ and no tag is where helm push puts the chart under its name, but the chart name "MyChart" cannot be a repository path component .*e\.g\. 127\.0\.0\.1:\d+\/upper\/charts\/<name>:1\.0\.0$/
      )
    ])
    expect((await catalog()).filter((r) => r.startsWith('upper/'))).toEqual([])
  })

  test('with subject, oci:// still names the repository exactly: a referrer stays beside its subject', async () => {
    const result = await runAction({ path: chart, subject: `${registry.host}/attach/app:v1`, destRef: `oci://${registry.host}/attach/app` })
    expect(errors(result)).toEqual([])
    expect(result.outputs.image).toBe(`${registry.host}/attach/app@${result.outputs.digest}`)
    expect(await listTags(registry.host, 'attach/app/mychart')).toEqual([])
    expect(await listTags(registry.host, 'attach/app')).toEqual(['v1', app.root.digest.replace(':', '-')].sort())
  })
})

describe('the CLI: oci-push package', () => {
  test('oci-push package ./mychart oci://host/charts pushes to host/charts/mychart:0.1.0, as helm push does', async () => {
    const result = await runCli(['package', './mychart', `oci://${registry.host}/cli/charts`, '--json', '--quiet'], { cwd: dir })
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    const outputs = JSON.parse(result.stdout) as { image: string; tag: string }
    expect(outputs).toMatchObject({ image: `${registry.host}/cli/charts/mychart:0.1.0`, tag: '0.1.0' })
    expect(await listTags(registry.host, 'cli/charts/mychart')).toEqual(['0.1.0'])
    expect(await listTags(registry.host, 'cli/charts')).toEqual([])
  })

  test('without oci:// the repository is exactly DEST', async () => {
    const result = await runCli(['package', './mychart', `${registry.host}/cli/exact`, '--quiet'], { cwd: dir })
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain(`${registry.host}/cli/exact:0.1.0`)
    expect(await listTags(registry.host, 'cli/exact')).toEqual(['0.1.0'])
    expect(await listTags(registry.host, 'cli/exact/mychart')).toEqual([])
  })
})
