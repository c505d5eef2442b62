import { describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chartConfig, chartTag, helmIgnore, parseChartYaml, versionOfTag, withVersion } from '../src/package/helm.js'
import { walkTree } from '../src/package/tree.js'

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
      const entries = await walkTree(dir)
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
