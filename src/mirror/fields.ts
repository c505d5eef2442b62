/**
 * Reading the plain values a YAML or JSON document gives (mappings, lists, strings, booleans,
 * null) into typed ones, with a problem that names the key as the user wrote it (`tags.allow[1]`).
 * The mirror config's parser adds which entry it was.
 */

/** A value in the mirror config has the wrong type or an unusable content; `key` is its path. */
export class ConfigProblem extends Error {
  constructor(
    readonly key: string,
    readonly problem: string
  ) {
    super(`${key} ${problem}`)
    this.name = 'ConfigProblem'
  }
}

export type PlainMap = Record<string, unknown>

export function isMap(value: unknown): value is PlainMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** How a value reads in a message: `"text"`, `true`, `a list`, `a mapping`. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list'
  if (isMap(value)) return 'a mapping'
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

export function readMap(value: unknown, key: string, what: string): PlainMap {
  if (!isMap(value)) throw new ConfigProblem(key, `must be a mapping (${what}), not ${describe(value)}`)
  return value
}

/** Refuses keys outside `known`: a misspelt key would otherwise be silently ignored. */
export function checkKeys(map: PlainMap, known: readonly string[], prefix: string, allowed = (_key: string) => false): void {
  for (const key of Object.keys(map)) {
    if (!known.includes(key) && !allowed(key)) {
      throw new ConfigProblem(`${prefix}${key}`, `is not a known key (use ${known.join(', ')})`)
    }
  }
}

/** A non-empty string, trimmed. */
export function readString(value: unknown, key: string, what: string): string {
  if (typeof value !== 'string') throw new ConfigProblem(key, `must be ${what}, not ${describe(value)}`)
  const text = value.trim()
  if (text === '') throw new ConfigProblem(key, `is empty: give ${what}`)
  return text
}

export function readBoolean(value: unknown, key: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigProblem(key, `must be true or false, not ${describe(value)}`)
  return value
}

/** A list of non-empty strings, or one string standing for a list of one. */
export function readStringList(value: unknown, key: string, what: string): string[] {
  const items = typeof value === 'string' ? [value] : value
  if (!Array.isArray(items)) throw new ConfigProblem(key, `must be a list of ${what}, not ${describe(value)}`)
  return items.map((item, i) => readString(item, typeof value === 'string' ? key : `${key}[${i}]`, what))
}
