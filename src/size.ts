/** Byte sizes as people write them (`1GiB`, `500MB`, `1048576`) and as we print them (`6.1 GiB`). */

const UNITS: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['b', 1],
  ['kib', 1024],
  ['mib', 1024 ** 2],
  ['gib', 1024 ** 3],
  ['tib', 1024 ** 4],
  ['kb', 1000],
  ['mb', 1000 ** 2],
  ['gb', 1000 ** 3],
  ['tb', 1000 ** 4]
])

/** No limit at all (`-1`). */
export const UNLIMITED = Number.POSITIVE_INFINITY

/**
 * Parses a size limit: a whole number of bytes, or a number with a unit (binary `KiB MiB GiB TiB`,
 * decimal `KB MB GB TB`, any case). `-1` means no limit. Returns undefined when the text is not a size.
 */
export function parseSize(text: string): number | undefined {
  const trimmed = text.trim()
  if (trimmed === '-1') return UNLIMITED
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(trimmed)
  if (!match) return undefined
  const factor = UNITS.get(match[2].toLowerCase())
  if (factor === undefined) return undefined
  const bytes = Math.round(Number(match[1]) * factor)
  return Number.isSafeInteger(bytes) ? bytes : undefined
}

const BINARY = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** `512 B`, `1.5 KiB`, `6.1 GiB`: one decimal, binary units. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < BINARY.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${BINARY[unit]}`
}
