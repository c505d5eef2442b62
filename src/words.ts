/**
 * Parameters named inside messages, as data: the shared code (the request model, the engine, the
 * HTTP client's hints) writes `set ${param('plainHttp', 'true')}`, and each front end renders the
 * names in its own words where it shows the text — the action as its inputs (`plainHttp: true`),
 * the CLI as its flags (`--plain-http`). So neither front end's words leak into the other's.
 *
 * A name travels as a token (`⟦plainHttp=true⟧`), from where the message is made to where it is
 * shown; {@link inWords} replaces every token. Tokens hold only names this module makes. An
 * error's `message` is in the action's words (the default, and what tests and logs read); the
 * text with its tokens is kept beside it ({@link spoken}) for a front end with other words.
 */

/** The parameters of a run, by the names of the action's inputs (the request model's names). */
export type Param =
  | 'srcRef'
  | 'destRef'
  | 'archive'
  | 'path'
  | 'mirror'
  | 'username'
  | 'password'
  | 'srcUsername'
  | 'srcPassword'
  | 'githubToken'
  | 'platforms'
  | 'annotations'
  | 'plainHttp'
  | 'caCert'
  | 'insecureSkipTLSVerify'
  | 'maxArtifactSize'
  | 'ociMediaTypes'
  | 'referrers'
  | 'dryRun'
  | 'failFast'
  | 'mirrorConcurrency'
  | 'shard'
  | 'subject'
  | 'artifactType'
  | 'bundle'

/** Advice whose words differ between front ends, not only by a name. */
export type Phrase =
  /** How to log in to a registry before the run: docker/login-action, or `docker login`. */
  'login-first'

/** How a front end says a parameter, an item of a list parameter, and a phrase. */
export interface Words {
  /** `name` (the parameter), or `name` set to `value`. Environment variables keep their names. */
  param(name: string, value?: string): string
  /** The `index`-th (1-based) item of a list parameter: a line of `annotations`, one `--annotation`. */
  item(name: string, index: number): string
  phrase(name: Phrase): string
  /** The parameter as where something came from: `the username input`, `--username`. */
  given(name: string): string
}

const OPEN = '\u27e6'
const CLOSE = '\u27e7'
const TOKEN = /\u27e6([@:]?)([A-Za-z_][A-Za-z0-9_-]*)(?:#(\d+))?(?:=([^\u27e6\u27e7]*))?\u27e7/g

/** The parameter `name`, or `name` given `value`, in a message. */
export function param(name: Param | (string & {}), value?: string): string {
  return `${OPEN}${name}${value !== undefined ? `=${value}` : ''}${CLOSE}`
}

/** The `index`-th item (1-based) of the list parameter `name`, in a message. */
export function item(name: Param | (string & {}), index: number): string {
  return `${OPEN}${name}#${index}${CLOSE}`
}

/** Where credentials came from, when it is a parameter: `the username input`, or `--username`. */
export function given(name: Param): string {
  return `${OPEN}:${name}${CLOSE}`
}

export function phrase(name: Phrase): string {
  return `${OPEN}@${name}${CLOSE}`
}

const PARAMS: ReadonlySet<string> = new Set<Param>([
  'srcRef',
  'destRef',
  'archive',
  'path',
  'mirror',
  'username',
  'password',
  'srcUsername',
  'srcPassword',
  'githubToken',
  'platforms',
  'annotations',
  'plainHttp',
  'caCert',
  'insecureSkipTLSVerify',
  'maxArtifactSize',
  'ociMediaTypes',
  'referrers',
  'dryRun',
  'failFast',
  'mirrorConcurrency',
  'shard',
  'subject',
  'artifactType',
  'bundle'
])
const PHRASES: ReadonlySet<string> = new Set<Phrase>(['login-first'])
/** Environment variables stand in for some parameters (`SOURCE_DATE_EPOCH`): named as they are. */
const ENVIRONMENT = /^[A-Z][A-Z0-9_]*$/

/**
 * `text` with every parameter and phrase in `words`. Only names this module knows are rendered:
 * text from outside (a registry's message) that looks like a token stays as it is.
 */
export function inWords(text: string, words: Words): string {
  return text.replace(TOKEN, (token, at: string, name: string, index: string | undefined, value: string | undefined) => {
    if (at === '@') return PHRASES.has(name) ? words.phrase(name as Phrase) : token
    if (at === ':') return PARAMS.has(name) ? words.given(name) : token
    if (!PARAMS.has(name) && !ENVIRONMENT.test(name)) return token
    if (index !== undefined) return words.item(name, Number(index))
    return words.param(name, value)
  })
}

/** The action's words: the inputs of action.yml, and docker/login-action. */
export const ACTION_WORDS: Words = {
  param: (name, value) => (value === undefined ? name : `${name}: ${value}`),
  item: (name, index) => `${name} line ${index}`,
  given: (name) => `the ${name} input`,
  phrase: (name) => ({ 'login-first': 'log in to it in an earlier step (docker/login-action)' })[name]
}

/** Errors' texts with their tokens, for front ends that name parameters otherwise. */
const withTokens = new WeakMap<object, string>()

/**
 * The message of an error made of `text`: in the action's words, the tokens kept for
 * {@link messageIn}. Call as `super(spoken(text))`, then `keepWords(this, text)`.
 */
export function spoken(text: string): string {
  return inWords(text, ACTION_WORDS)
}

export function keepWords(error: object, text: string): void {
  withTokens.set(error, text)
}

/** An error's text with its parameters still tokens (for another error's message, or a row's `error`). */
export function tokenMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && withTokens.has(error)) return withTokens.get(error) as string
  return error instanceof Error ? error.message : String(error)
}

/** An error's message in `words`. */
export function messageIn(error: unknown, words: Words): string {
  return inWords(tokenMessage(error), words)
}
