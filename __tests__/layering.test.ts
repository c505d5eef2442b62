/**
 * Where code may reach (issue 16, STYLE): the engine takes every store through Source/Target and
 * imports nothing from the HTTP client, the registry stores or the action; pure protocol modules
 * import no I/O layer either.
 */
import { describe, expect, test } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'

const SRC = join(import.meta.dirname, '..', 'src')

/** Relative imports of a file, as written. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8')
  return [...text.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]).filter((p) => p.startsWith('.'))
}

const filesUnder = (dir: string) =>
  readdirSync(join(SRC, dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f))

describe('layers', () => {
  test.each(filesUnder('engine'))('%s imports nothing from http/, registry/ or action/', (file) => {
    expect(importsOf(file).filter((p) => /(^|\/)(http|registry|action)\//.test(p))).toEqual([])
  })

  test.each(['retry.ts', 'referrers.ts', 'platform.ts', 'manifest.ts', 'reference.ts', 'annotations.ts', 'progress.ts', 'errors.ts'])(
    '%s (protocol rules) imports no I/O layer',
    (file) => {
      expect(importsOf(file).filter((p) => /(^|\/)(http|registry|action|engine\/(?!events|request))/.test(p))).toEqual([])
    }
  )

  test.each([...filesUnder('archive'), ...filesUnder('package'), ...filesUnder('layout')])('%s does not drive the engine', (file) => {
    expect(importsOf(file).filter((p) => /engine\/(copy-artifact|plan|execute|push-|mirror)/.test(p))).toEqual([])
  })
})

/** Every file `entry` reaches through relative imports (type-only ones included), and the packages they import. */
function reachableFrom(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string): void => {
    if (files.has(file)) return
    files.add(file)
    const text = readFileSync(join(SRC, file), 'utf8')
    for (const [, target] of text.matchAll(/^(?:import|export)\s[^'"]*?\bfrom\s+['"]([^'"]+)['"]/gm)) {
      if (!target.startsWith('.')) packages.add(target.startsWith('@') ? target.split('/').slice(0, 2).join('/') : target.split('/')[0])
      else visit(normalize(join(dirname(file), target)).replace(/\.js$/, '.ts'))
    }
  }
  visit(entry)
  return { files, packages }
}

describe('two front ends, one engine (issue 23)', () => {
  test("nothing the CLI reaches is the action's: no file under action/, no @actions/core", () => {
    const { files, packages } = reachableFrom('cli.ts')
    expect([...files].filter((file) => file.startsWith('action/'))).toEqual([])
    expect([...packages].filter((name) => name.startsWith('@actions/'))).toEqual([])
    // The walk did reach the CLI and the engine: an empty walk would pass too.
    expect(files).toContain('cli/main.ts')
    expect(files).toContain('engine/copy-artifact.ts')
  })

  test.each(filesUnder('cli'))('%s imports nothing from action/', (file) => {
    expect(importsOf(file).filter((p) => /(^|\/)action\//.test(p))).toEqual([])
  })
})
