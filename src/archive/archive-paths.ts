/**
 * The `archive` input: one path or glob per line, each optionally pinned to an image with
 * `@sha256:…`. Globs take `*` and `?` in the file name (not in directories), sorted.
 */
import { readdirSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { isDigest } from '../digest.js'
import { InputError } from '../errors.js'

export interface ArchiveInput {
  path: string
  /** Only the image with this root digest. */
  digest?: string
}

export function parseArchiveInput(text: string): ArchiveInput[] {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
  return lines.flatMap((line) => {
    const at = line.lastIndexOf('@sha256:')
    const digest = at >= 0 ? line.slice(at + 1) : undefined
    if (digest !== undefined && !isDigest(digest))
      throw new InputError('archive', `"${digest}" is not a digest (sha256: and 64 hex digits)`)
    const pattern = at >= 0 ? line.slice(0, at) : line
    return expand(pattern).map((path) => ({ path, ...(digest ? { digest } : {}) }))
  })
}

function expand(pattern: string): string[] {
  const name = basename(pattern)
  if (!/[*?]/.test(name)) return [pattern]
  const dir = dirname(pattern)
  if (/[*?]/.test(dir)) throw new InputError('archive', `"${pattern}": globs take * and ? in the file name only`)
  const regex = new RegExp(
    `^${name
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`
  )
  let files: string[]
  try {
    files = readdirSync(dir)
  } catch {
    throw new InputError('archive', `"${pattern}" matches nothing: ${dir} cannot be read`)
  }
  const matched = files.filter((f) => regex.test(f)).sort()
  if (matched.length === 0) throw new InputError('archive', `"${pattern}" matches no file`)
  return matched.map((f) => (dir === '.' && !pattern.startsWith('./') ? f : join(dir, f)))
}
