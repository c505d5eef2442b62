/** The version of the installed package, from its package.json. */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_NAME = 'oci-push'

/**
 * Walks up from this file to the package.json named oci-push: the same code runs from `src/cli/`
 * (tests) and from the bundle in `dist/cli/`, whose own package.json only says `"type": "module"`.
 */
export function packageVersion(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const found = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown }
      if (found.name === PACKAGE_NAME && typeof found.version === 'string') return found.version
    } catch {
      // No package.json here (or not JSON): look further up.
    }
    if (dirname(dir) === dir) return 'unknown'
  }
}
