/**
 * `WWW-Authenticate` challenges (RFC 7235 §4.1) as registries send them: `Basic realm="…"` for
 * htpasswd, `Bearer realm="…",service="…",scope="…"` for token auth (distribution
 * docs/spec/auth/token.md).
 */

export interface Challenge {
  /** Lowercased: `basic`, `bearer`. */
  scheme: string
  /** Parameter names lowercased, values unquoted. */
  params: Record<string, string>
}

/** Parses every challenge in the header; unknown schemes are kept so the caller can name them. */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (!header) return []
  const challenges: Challenge[] = []
  const token = /\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)/y
  const param = /\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y
  let pos = 0
  while (pos < header.length) {
    token.lastIndex = pos
    const scheme = token.exec(header)
    if (!scheme) break
    pos = token.lastIndex
    const params: Record<string, string> = {}
    for (;;) {
      param.lastIndex = pos
      const match = param.exec(header)
      // A bare word with no `=` after it starts the next challenge.
      if (!match) break
      params[match[1].toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]
      pos = param.lastIndex
    }
    challenges.push({ scheme: scheme[1].toLowerCase(), params })
    while (pos < header.length && /[\s,]/.test(header[pos])) pos++
  }
  return challenges
}
