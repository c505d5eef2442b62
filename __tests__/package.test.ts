import { describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGunzip } from 'node:zlib'
import { extract } from 'tar-stream'
import { InputError } from '../src/errors.js'
import {
  chartConfig,
  chartTag,
  chartVersion,
  helmIgnore,
  isChartVersion,
  isStrictVersion,
  parseChartYaml,
  versionOfTag,
  withVersion
} from '../src/package/helm.js'
import { packagePath } from '../src/package/package.js'
import { walkTree } from '../src/package/tree.js'
import type { Descriptor } from '../src/manifest.js'

describe('.helmignore', () => {
  const ignore = helmIgnore('# comment\n*.bak\n/secrets/\ndocs/*.md\n!docs/keep.md\n')
  test.each([
    ['notes.bak', false, true],
    ['sub/notes.bak', false, true],
    ['secrets', true, true],
    ['secrets', false, false],
    ['docs/a.md', false, true],
    ['docs/keep.md', false, false],
    ['docs/sub/a.md', false, false],
    ['templates/.hidden', false, true],
    ['templates/deploy.yaml', false, false],
    ['values.yaml', false, false]
  ])('%s (directory: %s) ignored: %s', (path, directory, ignored) => {
    expect(ignore(path, directory)).toBe(ignored)
  })
})

describe('Chart.yaml', () => {
  const text = '# keep me\napiVersion: v2\nname: app\nversion: 1.10\ndescription: An app\nkeywords: []\nappVersion: "2"\n'
  test('read as written (1.10 stays 1.10), the config in Helm field order, empties left out', () => {
    const chart = parseChartYaml(text, 'Chart.yaml')
    expect(chart).toMatchObject({ name: 'app', version: '1.10', description: 'An app' })
    expect(chartConfig(chart, '1.10').toString()).toBe(
      '{"name":"app","version":"1.10","description":"An app","apiVersion":"v2","appVersion":"2"}'
    )
    expect(withVersion(chart, '2.0.0').toString()).toMatch(/^# keep me\n[\s\S]*version: 2\.0\.0\n/)
  })

  test.each([
    ['no name', 'version: 1.0.0\n', /has no name/],
    ['no version', 'name: x\n', /has no version/],
    ['not YAML', 'name: [unclosed\n', /is not valid YAML/]
  ])('%s: an error naming path', (_name, body, problem) => {
    expect(() => parseChartYaml(body, 'Chart.yaml')).toThrow(problem)
  })

  const config = (yaml: string) => {
    const chart = parseChartYaml(yaml, 'Chart.yaml')
    return chartConfig(chart, chart.version).toString()
  }

  // What helm pull decodes into chart.Metadata: strings where the struct has strings.
  test.each([
    ['appVersion: 1.16 is the string "1.16"', 'appVersion: 1.16', '"appVersion":"1.16"'],
    ['appVersion: 1.10 keeps its zero', 'appVersion: 1.10', '"appVersion":"1.10"'],
    ['appVersion: 2 and icon: 3 are strings', 'icon: 3\nappVersion: 2', '"icon":"3","appVersion":"2"'],
    ['a quoted string stays itself', 'appVersion: "1.0"', '"appVersion":"1.0"'],
    ['keywords with a number and a boolean', 'keywords: [web, 2024, true]', '"keywords":["web","2024","true"]'],
    ['keywords with a null', 'keywords: [web, ~]', '"keywords":["web",""]'],
    [
      'a maintainer with a numeric name',
      'maintainers:\n  - name: 1234\n    email: a@b.example',
      '"maintainers":[{"name":"1234","email":"a@b.example"}]'
    ],
    ['deprecated: true stays a boolean', 'deprecated: true', '"deprecated":true'],
    ['deprecated: yes is true, as YAML 1.1 reads it for Helm', 'deprecated: yes', '"deprecated":true'],
    ['deprecated: false is left out, as omitempty does', 'deprecated: false', ''],
    [
      'tags, condition and type are strings',
      'tags: 1\ncondition: true\ntype: application',
      '"condition":"true","tags":"1","type":"application"'
    ],
    ['annotations: string values, keys sorted', 'annotations:\n  b: 2\n  a: on\n  "10": x', '"annotations":{"10":"x","a":"on","b":"2"}'],
    ['kubeVersion escaped as Go escapes > and <', 'kubeVersion: ">=1.20 <2"', '"kubeVersion":"\\u003e=1.20 \\u003c2"'],
    ['description cleaned as Helm cleans it', 'description: |\n  one\n  two\n', '"description":"one two "'],
    [
      'dependency enabled: false left out, its strings strings, import-values as JSON',
      'dependencies:\n  - alias: db2\n    enabled: false\n    import-values: [{parent: p, child: 1}, data]\n    tags: [1, front]\n    repository: oci://r.example/charts\n    version: 1.2\n    name: db',
      '"dependencies":[{"name":"db","version":"1.2","repository":"oci://r.example/charts","tags":["1","front"],"import-values":[{"child":1,"parent":"p"},"data"],"alias":"db2"}]'
    ],
    [
      'a dependency enabled: true',
      'dependencies:\n  - {name: db, enabled: true}',
      '"dependencies":[{"name":"db","repository":"","enabled":true}]'
    ],
    ['fields in struct order, unknown ones dropped', 'type: library\nengine: gotpl\napiVersion: v2', '"apiVersion":"v2","type":"library"']
  ])('%s', (_name, body, fields) => {
    expect(config(`name: app\nversion: 1.10.0\n${body}\n`)).toBe(`{"name":"app","version":"1.10.0"${fields ? `,${fields}` : ''}}`)
  })

  test.each([
    ['keywords not a list', 'keywords: web', /^path: Chart\.yaml: keywords is "web", where Helm's chart metadata needs a list$/],
    [
      'a quoted boolean',
      'deprecated: "true"',
      /^path: Chart\.yaml: deprecated is "true", where Helm's chart metadata needs true or false$/
    ],
    ['an empty maintainer', 'maintainers: [~]', /^path: Chart\.yaml: maintainers\[0\] is empty/],
    [
      'a list as annotation value',
      'annotations: {a: [1]}',
      /^path: Chart\.yaml: annotations\.a is a list, where Helm's chart metadata needs a string$/
    ],
    ['a mapping as home', 'home: {a: b}', /^path: Chart\.yaml: home is a mapping/]
  ])('%s: an error naming path, as Helm could not read it', (_name, body, problem) => {
    expect(() => parseChartYaml(`name: app\nversion: 1.0.0\n${body}\n`, 'Chart.yaml')).toThrow(problem)
  })

  test('SemVer build metadata: + in a version is _ in a tag, and back', () => {
    expect(chartTag('1.0.0+build.5')).toBe('1.0.0_build.5')
    expect(versionOfTag('1.0.0_build.5')).toBe('1.0.0+build.5')
  })
})

describe('walking a tree', () => {
  test('sorted, modes normalised; links inside kept, links outside and special files refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-push-tree-'))
    try {
      await mkdir(join(dir, 'b'))
      await writeFile(join(dir, 'b', 'file'), 'x')
      await writeFile(join(dir, 'a.sh'), '#!/bin/sh\n', { mode: 0o700 })
      await symlink('b/file', join(dir, 'link'))
      const { entries } = await walkTree(dir)
      expect(entries.map((e) => [e.path, e.type, e.mode.toString(8)])).toEqual([
        ['a.sh', 'file', '755'],
        ['b', 'directory', '755'],
        ['b/file', 'file', '644'],
        ['link', 'symlink', '777']
      ])
      await symlink('../../etc/passwd', join(dir, 'b', 'escape'))
      await expect(walkTree(dir)).rejects.toThrow(/^path: b\/escape is a symlink to \.\.\/\.\.\/etc\/passwd, outside the directory/)
      await rm(join(dir, 'b', 'escape'))
      execFileSync('mkfifo', [join(dir, 'pipe')])
      await expect(walkTree(dir)).rejects.toThrow(/^path: pipe is a special file/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe("a chart's symlinks", () => {
  test('followed as helm package follows them: a link to a file is the file, a link to a directory its contents', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-push-links-'))
    try {
      const chart = join(dir, 'chart')
      await mkdir(join(chart, 'files'), { recursive: true })
      await mkdir(join(chart, 'templates'))
      await writeFile(join(chart, 'files', 'data.txt'), 'shared data\n')
      await writeFile(join(chart, 'templates', 'real.yaml'), 'kind: ConfigMap\n')
      await symlink('files/data.txt', join(chart, 'values.yaml'))
      await symlink('../files', join(chart, 'templates', 'shared'))
      // Kept as links where links are kept (a plain directory).
      expect((await walkTree(chart)).entries.find((e) => e.path === 'values.yaml')).toMatchObject({
        type: 'symlink',
        linkname: 'files/data.txt'
      })
      await symlink(join(chart, 'files', 'data.txt'), join(chart, 'absolute-inside'))
      const { entries, notices } = await walkTree(chart, helmIgnore(''), 'follow')
      expect(notices).toEqual([])
      expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([
        ['absolute-inside', 'file', 12],
        ['files', 'directory', 0],
        ['files/data.txt', 'file', 12],
        ['templates', 'directory', 0],
        ['templates/real.yaml', 'file', 16],
        ['templates/shared', 'directory', 0],
        ['templates/shared/data.txt', 'file', 12],
        ['values.yaml', 'file', 12]
      ])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test("a link out of the chart (a monorepo's ../common) is followed as helm package follows it, with a notice", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-push-links-'))
    try {
      const chart = join(dir, 'charts', 'app')
      await mkdir(join(chart, 'templates'), { recursive: true })
      await mkdir(join(dir, 'common', 'helpers'), { recursive: true })
      await writeFile(join(dir, 'common', 'helpers', '_labels.tpl'), '{{- define "labels" }}{{ end }}\n')
      await writeFile(join(dir, 'shared-values.yaml'), 'replicas: 2\n')
      await symlink('../../../common', join(chart, 'templates', 'common'))
      await symlink(join(dir, 'shared-values.yaml'), join(chart, 'values.yaml'))
      await writeFile(join(chart, '.helmignore'), 'ignored-link\n')
      await symlink('../../shared-values.yaml', join(chart, 'ignored-link'))
      const { entries, notices } = await walkTree(chart, helmIgnore('ignored-link\n'), 'follow')
      expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([
        ['.helmignore', 'file', 13],
        ['templates', 'directory', 0],
        ['templates/common', 'directory', 0],
        ['templates/common/helpers', 'directory', 0],
        ['templates/common/helpers/_labels.tpl', 'file', 32],
        ['values.yaml', 'file', 12]
      ])
      expect(entries.find((e) => e.path === 'values.yaml')?.source).toBe(join(await realpath(dir), 'shared-values.yaml'))
      // One notice per link that leads out, naming it and where it leads; an ignored link says nothing.
      expect(notices).toEqual([
        `templates/common is a symlink to ../../../common, outside the chart: ${join(await realpath(dir), 'common')} is packaged in its place, as helm package does`,
        `values.yaml is a symlink to ${join(dir, 'shared-values.yaml')}, outside the chart: ${join(await realpath(dir), 'shared-values.yaml')} is packaged in its place, as helm package does`
      ])
      // A plain directory keeps its rule: links out of it are refused.
      await expect(walkTree(chart)).rejects.toThrow(
        /^path: ignored-link is a symlink to \.\.\/\.\.\/shared-values\.yaml, outside the directory/
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('packagePath: a chart linking ../common holds the linked files, and its notices say where they came from', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-push-links-'))
    try {
      const chart = join(dir, 'charts', 'app')
      await mkdir(join(chart, 'templates'), { recursive: true })
      await mkdir(join(dir, 'common'))
      await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: app\nversion: 1.0.0\n')
      await writeFile(join(dir, 'common', '_labels.tpl'), 'labels\n')
      await symlink('../../../common', join(chart, 'templates', 'common'))
      const packaged = await packagePath(chart, {})
      expect(packaged.notices).toEqual([
        expect.stringMatching(
          /^templates\/common is a symlink to \.\.\/\.\.\/\.\.\/common, outside the chart: \/.*\/common is packaged in its place/
        )
      ])
      const manifest = JSON.parse((await packaged.source.fetchManifest(packaged.root.digest)).bytes.toString()) as { layers: Descriptor[] }
      const files = new Map<string, string>()
      const tar = extract()
      ;(await packaged.source.fetchBlob(manifest.layers[0])).pipe(createGunzip()).pipe(tar)
      for await (const entry of tar) {
        const chunks: Buffer[] = []
        for await (const chunk of entry) chunks.push(chunk as Buffer)
        files.set(entry.header.name, Buffer.concat(chunks).toString())
      }
      expect(files.get('app/templates/common/_labels.tpl')).toBe('labels\n')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test.each([
    ['dangles', 'nowhere.txt', /^path: escape is a symlink to nowhere\.txt, which does not exist; helm package follows links/],
    ['loops back to the chart itself', '.', /^path: escape is a symlink to a directory that holds it; a chart cannot hold a loop$/],
    [
      'loops back to a directory holding the chart',
      '..',
      /^path: escape\/chart is, through a symlink, a directory that holds itself; a chart cannot hold a loop$/
    ],
    [
      'loops through links',
      'next',
      /^path: escape is a symlink to next, which leads back to itself through links; a chart cannot hold a loop$/
    ]
  ])('a link that %s: an error naming path', async (_name, target, problem) => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-push-links-'))
    try {
      await mkdir(join(dir, 'chart'))
      if (target === 'next') await symlink('escape', join(dir, 'chart', 'next'))
      await symlink(target, join(dir, 'chart', 'escape'))
      await expect(walkTree(join(dir, 'chart'), helmIgnore(''), 'follow')).rejects.toThrow(problem)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('chart versions, as Helm reads them (Masterminds semver NewVersion)', () => {
  test.each([
    ['1.2.3', true, true],
    ['1.2.3-rc.1', true, true],
    ['1.2.3+build.5', true, true],
    ['0.0.0-alpha-1.x', true, true],
    ['v1.2.3', true, false],
    ['1.2', true, false],
    ['1', true, false],
    ['01.2.3', true, false],
    ['latest', false, false],
    ['main', false, false],
    ['', false, false],
    ['V1.2.3', false, false],
    ['1.2.3.4', false, false],
    ['1.2.3-01', false, false],
    ['1.2.3+', false, false],
    ['18446744073709551616.0.0', false, false]
  ])('%s: Helm accepts it %s, strict SemVer 2 %s', (version, helm, strict) => {
    expect(isChartVersion(version)).toBe(helm)
    expect(isStrictVersion(version)).toBe(strict)
  })

  const chart = (version: string) => parseChartYaml(`name: app\nversion: ${version}\n`, 'mychart/Chart.yaml')

  test.each(['latest', 'main', 'v1.2.3.4'])('a destRef tag %s is an error naming destRef', (tag) => {
    const error = (() => {
      try {
        chartVersion(chart('1.0.0'), tag)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(InputError)
    expect(error).toMatchObject({ input: 'destRef' })
    expect((error as Error).message).toMatch(
      new RegExp(`^destRef: the tag ${tag.replace(/\./g, '\\.')} is not a chart version: Helm needs SemVer 2`)
    )
  })

  test("no tag: Chart.yaml's version must be one, else an error naming path", () => {
    expect(() => chartVersion(chart('latest'), undefined)).toThrow(
      /^path: mychart\/Chart\.yaml: version latest is not SemVer 2, which Helm requires of a chart/
    )
    expect(chartVersion(chart('1.0.0'), undefined)).toEqual({ version: '1.0.0', notices: [] })
  })

  test('_ in a tag stands for +; a lenient version is taken with a notice', () => {
    expect(chartVersion(chart('1.0.0'), '1.0.0_build.5')).toEqual({
      version: '1.0.0+build.5',
      notices: ['tag 1.0.0_build.5 stands for chart version 1.0.0+build.5, as Helm writes + in tags']
    })
    expect(chartVersion(chart('1.0.0'), 'v1.2').notices).toEqual([expect.stringMatching(/^chart version v1\.2 is not strict SemVer 2/)])
  })
})
