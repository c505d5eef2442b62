/**
 * The `annotations` input: one `key=value` per line, the key optionally scoped the way BuildKit
 * and docker/metadata-action write it (`index:`, `manifest:`, `manifest[linux/arm64]:`,
 * `manifest-descriptor:`, `index-descriptor:`), so metadata-action's output pastes in unchanged.
 */
import { parsePlatform, type PlatformSpec } from './platform.js'

export type AnnotationScope = 'index' | 'manifest' | 'manifest-descriptor' | 'index-descriptor'

export interface AnnotationRule {
  scope: AnnotationScope
  /** Only these platforms' manifests (or descriptors); undefined means all. */
  platforms?: PlatformSpec[]
  key: string
  value: string
}

/** A line of the input that is not a rule; `line` is 1-based. */
export class AnnotationSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly text: string,
    readonly problem: string
  ) {
    super(`line ${line} "${text}": ${problem}`)
    this.name = 'AnnotationSyntaxError'
  }
}

const SCOPES: ReadonlySet<string> = new Set(['index', 'manifest', 'manifest-descriptor', 'index-descriptor'])
/** buildx's grammar: a lowercase type with an optional `[platforms]`, then `:`, then the key. */
const SCOPED_KEY = /^([a-z-]+)(?:\[([^\]]*)\])?:(.*)$/

export function parseAnnotations(text: string): AnnotationRule[] {
  const rules: AnnotationRule[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '') return
    const fail = (problem: string): never => {
      throw new AnnotationSyntaxError(i + 1, line, problem)
    }
    const eq = line.indexOf('=')
    if (eq < 0) fail('expected key=value, e.g. org.opencontainers.image.title=app or index:org.opencontainers.image.version=1.2.3')
    const keyPart = line.slice(0, eq).trim()
    const value = line.slice(eq + 1).trim()
    let scope: AnnotationScope = 'manifest'
    let platforms: PlatformSpec[] | undefined
    let key = keyPart
    const scoped = SCOPED_KEY.exec(keyPart)
    if (scoped) {
      if (!SCOPES.has(scoped[1])) fail(`unknown scope "${scoped[1]}" (use index, manifest, manifest-descriptor or index-descriptor)`)
      scope = scoped[1] as AnnotationScope
      key = scoped[3].trim()
      if (scoped[2] !== undefined) {
        if (scope === 'index' || scope === 'index-descriptor') fail(`the ${scope} scope takes no platforms`)
        platforms = scoped[2].split(',').map((p) => parsePlatform(p) ?? fail(`"${p.trim()}" is not a platform (os/arch[/variant])`))
      }
    }
    if (key === '') fail('the key is empty')
    if (/\s/.test(key)) fail(`the key "${key}" contains white space`)
    rules.push({ scope, key, value, ...(platforms ? { platforms } : {}) })
  })
  return rules
}
