/**
 * Where code may reach (issue 16, STYLE): the engine takes every store through Source/Target and
 * imports nothing from the HTTP client, the registry stores or the action; pure protocol modules
 * import no I/O layer either.
 */
import { describe, expect, test } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

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
