import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InputError } from '../src/errors.js'
import { loadMirrorConfig, MAX_ENTRIES, MirrorConfigError, parseMirrorConfig, type MirrorEntry } from '../src/mirror/config.js'
import { formatReference } from '../src/reference.js'

/** An entry with its references formatted and its filter's regexes and range as text, for toEqual. */
function summary(entry: MirrorEntry) {
  const { selection } = entry
  return {
    index: entry.index,
    source: `${entry.source.scheme ? `${entry.source.scheme}://` : ''}${formatReference(entry.source)}`,
    destination: `${entry.destination.scheme ? `${entry.destination.scheme}://` : ''}${formatReference(entry.destination)}`,
    selection:
      selection.kind === 'filter'
        ? {
            kind: 'filter',
            allow: selection.allow.map((re) => re.source),
            deny: selection.deny.map((re) => re.source),
            includePrerelease: selection.includePrerelease,
            ...(selection.semver ? { semver: selection.semver.raw } : {}),
            ...(selection.latest !== undefined ? { latest: selection.latest } : {})
          }
        : selection,
    platforms: entry.platforms,
    annotations: entry.annotations,
    referrers: entry.referrers,
    ociMediaTypes: entry.ociMediaTypes
  }
}

const ISSUE_EXAMPLE = `
defaults: { platforms: [linux/amd64, linux/arm64], referrers: true }
mirrors:
  - source: docker.io/library/nginx            # a repository: tags are selected
    destination: ghcr.io/org/mirror/nginx
    tags: { semver: ">=1.25 <2", allow: ['^1\\.2[5-9]\\.\\d+-alpine$'], deny: ['rc'], latest: 5 }
  - source: oci://registry-1.docker.io/bitnamicharts/redis
    destination: oci://ghcr.io/org/charts/redis
    tags: { semver: ">=19" }
  - source: quay.io/prometheus/node-exporter:v1.8.2   # one tag, or @digest
    destination: ghcr.io/org/mirror/node-exporter
`

const AMD64_ARM64 = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' }
]
const DIGEST = `sha256:${'a'.repeat(64)}`
const none = { platforms: [], annotations: [], referrers: false, ociMediaTypes: false }

describe('a mirror into a bundle (issue 24)', () => {
  test('an entry needs no destination: its images keep the source name; one given names them instead', () => {
    const config = parseMirrorConfig(
      'mirrors:\n  - source: nginx\n    tags: [1.27]\n  - source: ghcr.io/org/app:v1\n    destination: mirror.local/app\n',
      undefined,
      { bundle: true }
    )
    expect(config.entries.map((e) => `${e.destination.registry}/${e.destination.repository}`)).toEqual([
      'docker.io/library/nginx',
      'mirror.local/app'
    ])
    expect(() => parseMirrorConfig('mirrors:\n  - source: nginx\n    tags: [1.27]\n')).toThrow(/destination is missing/)
  })
})

describe('parseMirrorConfig', () => {
  test("the issue's example: defaults applied, references normalised, oci:// kept, one filter per repository", () => {
    expect(parseMirrorConfig(ISSUE_EXAMPLE).entries.map(summary)).toEqual([
      {
        index: 1,
        source: 'docker.io/library/nginx',
        destination: 'ghcr.io/org/mirror/nginx',
        selection: {
          kind: 'filter',
          allow: ['^(?:^1\\.2[5-9]\\.\\d+-alpine$)$'],
          deny: ['^(?:rc)$'],
          semver: '>=1.25 <2',
          includePrerelease: false,
          latest: 5
        },
        platforms: AMD64_ARM64,
        annotations: [],
        referrers: true,
        ociMediaTypes: false
      },
      {
        index: 2,
        source: 'oci://docker.io/bitnamicharts/redis',
        destination: 'oci://ghcr.io/org/charts/redis',
        selection: { kind: 'filter', allow: [], deny: [], semver: '>=19', includePrerelease: false },
        platforms: AMD64_ARM64,
        annotations: [],
        referrers: true,
        ociMediaTypes: false
      },
      {
        index: 3,
        source: 'quay.io/prometheus/node-exporter:v1.8.2',
        destination: 'ghcr.io/org/mirror/node-exporter',
        selection: { kind: 'single' },
        platforms: AMD64_ARM64,
        annotations: [],
        referrers: true,
        ociMediaTypes: false
      }
    ])
  })

  test.each([
    [
      'JSON, Docker Hub shorthand',
      '{"mirrors": [{"source": "nginx", "destination": "ghcr.io/o/nginx", "tags": ["1.27", "stable"], "ociMediaTypes": true}]}',
      [
        {
          index: 1,
          source: 'docker.io/library/nginx',
          destination: 'ghcr.io/o/nginx',
          selection: { kind: 'exact', tags: ['1.27', 'stable'] },
          ...none,
          ociMediaTypes: true
        }
      ]
    ],
    [
      'numbers stay as written: 1.10 is the tag 1.10',
      'mirrors: [{source: nginx, destination: ghcr.io/o/nginx, tags: [1.10, 1.20]}]',
      [
        {
          index: 1,
          source: 'docker.io/library/nginx',
          destination: 'ghcr.io/o/nginx',
          selection: { kind: 'exact', tags: ['1.10', '1.20'] },
          ...none
        }
      ]
    ],
    [
      'defaults.tags for repository sources only; an entry tags replaces it; a digest source is single',
      `defaults: {tags: {latest: 3}}
mirrors:
  - {source: a.io/x, destination: b.io/x}
  - {source: a.io/y, destination: b.io/y, tags: {allow: [edge]}}
  - {source: "a.io/z@${DIGEST}", destination: b.io/z}`,
      [
        {
          index: 1,
          source: 'a.io/x',
          destination: 'b.io/x',
          selection: { kind: 'filter', allow: [], deny: [], includePrerelease: false, latest: 3 },
          ...none
        },
        {
          index: 2,
          source: 'a.io/y',
          destination: 'b.io/y',
          selection: { kind: 'filter', allow: ['^(?:edge)$'], deny: [], includePrerelease: false },
          ...none
        },
        { index: 3, source: `a.io/z@${DIGEST}`, destination: 'b.io/z', selection: { kind: 'single' }, ...none }
      ]
    ],
    [
      'an entry value replaces the default, lists are not merged: platforms [] is every platform',
      `defaults: {platforms: [linux/amd64, linux/arm64], annotations: [a=1], referrers: true, ociMediaTypes: true}
mirrors:
  - {source: a.io/x:1, destination: b.io/x, platforms: [], annotations: [b=2], referrers: false, ociMediaTypes: false}`,
      [
        {
          index: 1,
          source: 'a.io/x:1',
          destination: 'b.io/x',
          selection: { kind: 'single' },
          ...none,
          annotations: [{ scope: 'manifest', key: 'b', value: '2' }]
        }
      ]
    ],
    [
      'platforms as one comma-separated string; annotations as a mapping, scopes read as the input reads them',
      `mirrors:
  - source: a.io/x:1
    destination: b.io/x
    platforms: linux/amd64, linux/arm/v7
    annotations:
      org.opencontainers.image.vendor: ACME
      "index:org.opencontainers.image.version": 1.10
      "manifest[linux/amd64]:k": true
      empty:`,
      [
        {
          index: 1,
          source: 'a.io/x:1',
          destination: 'b.io/x',
          selection: { kind: 'single' },
          ...none,
          platforms: [
            { os: 'linux', architecture: 'amd64' },
            { os: 'linux', architecture: 'arm', variant: 'v7' }
          ],
          annotations: [
            { scope: 'manifest', key: 'org.opencontainers.image.vendor', value: 'ACME' },
            { scope: 'index', key: 'org.opencontainers.image.version', value: '1.10' },
            { scope: 'manifest', key: 'k', value: 'true', platforms: [{ os: 'linux', architecture: 'amd64' }] },
            { scope: 'manifest', key: 'empty', value: '' }
          ]
        }
      ]
    ],
    [
      'x- keys at the top are the user own (YAML anchors); an empty defaults is none',
      `x-charts: &charts {semver: ">=19", includePrerelease: true}
defaults:
mirrors:
  - {source: "oci://a.io/charts/redis", destination: "oci://b.io/charts/redis", tags: *charts}`,
      [
        {
          index: 1,
          source: 'oci://a.io/charts/redis',
          destination: 'oci://b.io/charts/redis',
          selection: { kind: 'filter', allow: [], deny: [], semver: '>=19', includePrerelease: true },
          ...none
        }
      ]
    ]
  ])('%s', (_name, text, entries) => {
    expect(parseMirrorConfig(text).entries.map(summary)).toEqual(entries)
  })

  const entry = (fields: string) => `mirrors:\n  - {source: a.io/x:1, destination: b.io/x}\n  - {${fields}}`
  const nginx = 'source: docker.io/library/nginx, destination: ghcr.io/o/nginx'
  test.each([
    ['an empty config', '  \n# nothing\n', 'mirror: the config is empty: give mirrors, a list of entries with source and destination'],
    ['a list at the top', '- a', 'mirror: the config must be a mapping with mirrors (and defaults), not a list'],
    [
      'YAML that does not parse',
      'mirrors: [',
      'mirror: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 11'
    ],
    ['a key given twice', 'mirrors: []\nmirrors: []', 'mirror: not valid YAML: Map keys must be unique at line 2, column 1'],
    ['an unknown key at the top', 'mirror: []', 'mirror: mirror is not a known key (use defaults, mirrors)'],
    ['no mirrors', 'defaults: {referrers: true}', 'mirror: mirrors is missing: give a list of entries with source and destination'],
    [
      'mirrors not a list',
      'mirrors: {source: nginx}',
      'mirror: mirrors must be a list of entries with source and destination, not a mapping'
    ],
    ['mirrors empty', 'mirrors: []', 'mirror: mirrors is empty: give at least one entry with source and destination'],
    [
      'defaults not a mapping',
      'defaults: [a]\nmirrors: []',
      'mirror: defaults must be a mapping (tags, platforms, annotations, referrers, ociMediaTypes), not a list'
    ],
    [
      'an entry key in defaults',
      'defaults: {source: nginx}\nmirrors: []',
      'mirror: defaults.source is not a known key (use tags, platforms, annotations, referrers, ociMediaTypes)'
    ],
    [
      'a bad defaults.tags',
      'defaults: {tags: {latest: -1}}\nmirrors: []',
      'mirror: defaults.tags.latest must be a whole number of at least 1, not "-1"'
    ],
    ['an entry that is a string', 'mirrors: [nginx]', 'mirror: entry 1: must be a mapping with source and destination, not "nginx"'],
    [
      'an unknown entry key',
      entry(`${nginx}, tag: latest`),
      'mirror: entry 2 (docker.io/library/nginx): tag is not a known key (use source, destination, tags, platforms, annotations, referrers, ociMediaTypes)'
    ],
    [
      'no source',
      entry('destination: b.io/y'),
      'mirror: entry 2: source is missing: give the repository to copy from, or one tag or digest of it'
    ],
    [
      'no destination',
      entry('source: nginx:1'),
      'mirror: entry 2 (nginx:1): destination is missing: give the repository to copy to, e.g. ghcr.io/org/mirror/nginx (or write the mirror into a bundle)'
    ],
    [
      'a source that is not text',
      entry('source: true, destination: b.io/y'),
      'mirror: entry 2: source must be a registry reference, not true'
    ],
    [
      'a source that is not a reference',
      entry('source: Nginx, destination: b.io/y'),
      'mirror: entry 2 (Nginx): source "Nginx" is not a valid reference: repository names must be lowercase'
    ],
    [
      'a local path',
      entry('source: ./layout, destination: b.io/y'),
      'mirror: entry 2 (./layout): source "./layout" is a local path; mirror copies between registries'
    ],
    [
      'a destination with a tag',
      entry('source: nginx:1, destination: ghcr.io/o/nginx:1'),
      'mirror: entry 2 (nginx:1): destination "ghcr.io/o/nginx:1" names a tag; give a repository: each tag keeps its name'
    ],
    [
      'a destination with a digest',
      entry(`source: nginx:1, destination: "ghcr.io/o/nginx@${DIGEST}"`),
      `mirror: entry 2 (nginx:1): destination "ghcr.io/o/nginx@${DIGEST}" names a digest; give a repository: each tag keeps its name`
    ],
    [
      'tags with a tagged source',
      entry('source: nginx:1.27, destination: b.io/n, tags: [1.27]'),
      'mirror: entry 2 (nginx:1.27): tags cannot be given with a source that names a tag or digest: drop tags, or name a repository'
    ],
    [
      'a repository source without tags',
      entry(nginx),
      "mirror: entry 2 (docker.io/library/nginx): tags is missing for a repository source: list the tags, or give filters (semver, allow, deny, latest); allow: ['.*'] copies every tag"
    ],
    [
      'a range semver cannot read',
      entry(`${nginx}, tags: {semver: ">=1.x.y"}`),
      'mirror: entry 2 (docker.io/library/nginx): tags.semver ">=1.x.y" is not a SemVer range (as npm\'s semver reads it, e.g. ">=1.25 <2", "^19" or "~1.2")'
    ],
    [
      'a bad regular expression',
      entry(`${nginx}, tags: {deny: ["1.2", "(x"]}`),
      'mirror: entry 2 (docker.io/library/nginx): tags.deny[1] "(x" is not a regular expression: Unterminated group'
    ],
    [
      'an unknown filter key',
      entry(`${nginx}, tags: {newest: 5}`),
      'mirror: entry 2 (docker.io/library/nginx): tags.newest is not a known key (use semver, includePrerelease, allow, deny, latest)'
    ],
    [
      'a bad platform',
      entry('source: nginx:1, destination: b.io/n, platforms: [linux/amd64, linux]'),
      'mirror: entry 2 (nginx:1): platforms[1] "linux" is not a platform: give os/arch[/variant], e.g. linux/arm64 or linux/arm/v7'
    ],
    [
      'platforms not a list',
      entry('source: nginx:1, destination: b.io/n, platforms: {linux: amd64}'),
      'mirror: entry 2 (nginx:1): platforms must be a list of os/arch[/variant] platforms, not a mapping'
    ],
    [
      'an annotation without =',
      entry('source: nginx:1, destination: b.io/n, annotations: [a=1, novalue]'),
      'mirror: entry 2 (nginx:1): annotations[1] "novalue": expected key=value, e.g. org.opencontainers.image.title=app or index:org.opencontainers.image.version=1.2.3'
    ],
    [
      'an annotation with an unknown scope',
      entry('source: nginx:1, destination: b.io/n, annotations: {"layer:k": v}'),
      'mirror: entry 2 (nginx:1): annotations.layer:k "layer:k=v": unknown scope "layer" (use index, manifest, manifest-descriptor or index-descriptor)'
    ],
    [
      'an annotation value that is a list',
      entry('source: nginx:1, destination: b.io/n, annotations: {k: [v]}'),
      'mirror: entry 2 (nginx:1): annotations.k must be a text value, not a list'
    ],
    [
      'referrers not a boolean',
      entry('source: nginx:1, destination: b.io/n, referrers: "yes"'),
      'mirror: entry 2 (nginx:1): referrers must be true or false, not "yes"'
    ],
    [
      'ociMediaTypes not a boolean',
      entry('source: nginx:1, destination: b.io/n, ociMediaTypes: 1'),
      'mirror: entry 2 (nginx:1): ociMediaTypes must be true or false, not "1"'
    ]
  ])('%s: one line naming the entry and key', (_name, text, message) => {
    const error = caught(() => parseMirrorConfig(text))
    expect(error).toBeInstanceOf(MirrorConfigError)
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).input).toBe('mirror')
    expect((error as Error).message).toBe(message)
  })

  test('the error carries where it is as data: entry, source and key', () => {
    const error = caught(() => parseMirrorConfig(entry(`${nginx}, tags: {semver: "1.x.y"}`))) as MirrorConfigError
    expect(error.place).toEqual({ entry: 2, source: 'docker.io/library/nginx', key: 'tags.semver', file: undefined })
  })

  test('the first mistake is reported, before anything else is looked at', () => {
    const text = 'mirrors:\n  - {source: a.io/x, destination: b.io/x, tags: {latest: 0}}\n  - {source: Bad, destination: b.io/y}'
    expect(caught(() => parseMirrorConfig(text))).toHaveProperty('place.entry', 1)
  })

  test(`more than ${MAX_ENTRIES} entries are refused; ${MAX_ENTRIES} are read`, () => {
    const config = (n: number) =>
      JSON.stringify({ mirrors: Array.from({ length: n }, (_, i) => ({ source: `a.io/r${i}:1`, destination: `b.io/r${i}` })) })
    expect(parseMirrorConfig(config(MAX_ENTRIES)).entries).toHaveLength(MAX_ENTRIES)
    expect(caught(() => parseMirrorConfig(config(MAX_ENTRIES + 1)))).toHaveProperty(
      'message',
      `mirror: mirrors has ${MAX_ENTRIES + 1} entries; at most ${MAX_ENTRIES} are accepted (split them over several configs)`
    )
  })

  test('an inline config over 1 MiB is refused before it is parsed', () => {
    const text = `mirrors: [{source: a.io/x:1, destination: b.io/x}]\n#${'x'.repeat(1024 * 1024)}`
    expect(caught(() => parseMirrorConfig(text))).toHaveProperty(
      'message',
      'mirror: the config is 1.0 MiB; a mirror config may be 1.0 MiB at most'
    )
  })

  test('an alias bomb is refused as an input error', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i < 8; i++)
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`
      )
    const error = caught(() => parseMirrorConfig(`${levels.join('\n')}\nmirrors: []`))
    expect(error).toBeInstanceOf(MirrorConfigError)
    expect((error as Error).message).toBe('mirror: not valid YAML: Excessive alias count indicates a resource exhaustion attack')
  })
})

describe('loadMirrorConfig', () => {
  let workspace: string
  const CONFIG = 'mirrors:\n  - source: nginx:1.27\n    destination: ghcr.io/o/nginx\n'
  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), 'mirror-config-'))
    mkdirSync(join(workspace, '.github'))
    writeFileSync(join(workspace, '.github', 'mirror.yml'), CONFIG)
    writeFileSync(join(workspace, 'mirror.json'), JSON.stringify({ mirrors: [{ source: 'nginx:1.27', destination: 'ghcr.io/o/nginx' }] }))
    writeFileSync(join(workspace, 'bad.yaml'), 'mirrors:\n  - {source: nginx, destination: ghcr.io/o/nginx}\n')
    writeFileSync(join(workspace, 'big.yml'), `${CONFIG}#${'x'.repeat(1024 * 1024)}\n`)
    mkdirSync(join(workspace, 'dir.yml'))
  })
  afterAll(() => rmSync(workspace, { recursive: true, force: true }))

  test.each([
    ['a .yml path relative to the workspace', '.github/mirror.yml', '.github/mirror.yml'],
    ['a .json path, surrounding white space ignored', '  mirror.json\n', 'mirror.json'],
    ['inline YAML', CONFIG, undefined],
    [
      'several lines are inline, even when the last ends in .yml',
      'mirrors:\n  - source: nginx:1.27\n    destination: ghcr.io/o/config.yml',
      undefined
    ]
  ])('%s', (_name, input, file) => {
    const config = loadMirrorConfig(input, workspace)
    expect(config.file).toBe(file)
    expect(config.entries.map((e) => formatReference(e.source))).toEqual(['docker.io/library/nginx:1.27'])
  })

  test('an absolute path', () => {
    expect(loadMirrorConfig(join(workspace, 'mirror.json'), '/nonexistent').entries).toHaveLength(1)
  })

  test.each([
    [
      'a missing file',
      'missing.yml',
      (w: string) => `mirror: file "missing.yml" not found (a relative path is read from the workspace, ${w})`
    ],
    ['a directory', 'dir.yml', () => 'mirror: "dir.yml" is not a file'],
    ['a file over 1 MiB', 'big.yml', () => 'mirror: "big.yml" is 1.0 MiB; a mirror config may be 1.0 MiB at most'],
    [
      'a mistake in a file names the file',
      'bad.yaml',
      () =>
        "mirror: bad.yaml: entry 1 (nginx): tags is missing for a repository source: list the tags, or give filters (semver, allow, deny, latest); allow: ['.*'] copies every tag"
    ]
  ])('%s is an error naming mirror', (_name, input, message) => {
    const error = caught(() => loadMirrorConfig(input, workspace))
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toBe(message(workspace))
  })
})

function caught(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}
