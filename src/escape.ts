/**
 * Text from outside our code (tags, names, registry messages, file names from archives) made safe
 * to show (DESIGN §7): a runner reads `::command::` lines from a step's stdout, a terminal reads
 * escape sequences, Markdown reads `|` and `<`. Pure functions, one rule each.
 */

/** C0 and C1 control characters, DEL, and the Unicode line and paragraph separators. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/** Values longer than this are cut when shown: a 300,000-character tag is not a log line. */
export const SHOWN_MAX = 120

/**
 * A value from outside, quoted for a message: control characters as `\n`, `\t` or `\u001b`,
 * backslashes and quotes escaped (as JSON writes them), cut to `max` characters with the length
 * said. What comes out is one line that no reader takes for a command.
 */
export function shown(value: string, max = SHOWN_MAX): string {
  const cut = value.length > max ? value.slice(0, max) : value
  const escaped = JSON.stringify(cut).replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return value.length > max ? `${escaped}… (${value.length} characters)` : escaped
}

/**
 * Text from outside spliced into a message without quotes (a registry's error message): control
 * characters escaped, cut to `max`. Unlike {@link shown}, plain text stays as it is.
 */
export function plain(value: string, max = 1000): string {
  const cut = value.length > max ? `${value.slice(0, max)}… (${value.length} characters)` : value
  return cut.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0)
    return code === 0x0a ? '\\n' : code === 0x0d ? '\\r' : code === 0x09 ? '\\t' : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

/**
 * A log line a runner reads as text only: one line (control characters escaped, as {@link plain}),
 * a leading `::` behind a backslash (the runner trims blanks before it looks), and every `##[` or
 * `##vso[` broken (`#\#[`): the runner's old command parser finds those anywhere in a line.
 */
export function logLine(text: string): string {
  const line = plain(text, Number.MAX_SAFE_INTEGER).replace(/##(?=\[|vso\[)/g, '#\\#')
  return /^\s*::/.test(line) ? `\\${line}` : line
}
