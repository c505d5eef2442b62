/**
 * Registries whose tags are immutable refuse a manifest PUT on a tag that exists: ECR repositories
 * with `IMMUTABLE` tags (400 `TAG_INVALID`, "ImageTagAlreadyExistsException"), Harbor's
 * immutability rules (412, or 403 `DENIED` in older releases), Artifactory and Docker Hub's
 * immutable repositories (403 `DENIED`), and registries answering `MANIFEST_INVALID` for it. Read
 * from the status and the error codes, never from the message text.
 */
import { RegistryError } from '../errors.js'

/** Error codes a refused overwrite comes with, by the registries above. */
const REFUSAL_CODES: ReadonlySet<string> = new Set(['TAG_INVALID', 'MANIFEST_INVALID', 'DENIED', 'PRECONDITION', 'TAG_IMMUTABLE'])
/** Statuses that are a refusal whatever the body says (Harbor's 412; a 409 conflict). */
const REFUSAL_STATUSES: ReadonlySet<number> = new Set([409, 412])

/** A registry refused to move a tag that holds another digest. */
export class TagOverwriteRefusedError extends Error {
  constructor(
    readonly ref: string,
    /** What the tag holds and keeps. */
    readonly held: string,
    /** What the copy would have put there. */
    readonly wanted: string,
    readonly refusal: RegistryError
  ) {
    const immutable = refusal.details.some((d) => d.code === 'TAG_INVALID' || d.code === 'TAG_IMMUTABLE') || refusal.status === 412
    super(
      `push manifest ${ref}: the registry refused to overwrite the tag, which holds ${held}, with ${wanted} ` +
        // The registry's own words: the message after `push manifest <ref>: `.
        `(${refusal.message.slice(refusal.message.indexOf(': ') + 2)}): ${immutable ? 'its tags are immutable' : 'its tags may be immutable, or the credentials may not push here'} ` +
        `(ECR IMMUTABLE, a Harbor immutability rule, Artifactory, Docker Hub); push under a new tag, or delete the tag there first if it must move`
    )
    this.name = 'TagOverwriteRefusedError'
  }
}

/**
 * `error` read as a refused overwrite when the tag held another digest before the PUT; undefined
 * when it is something else (the tag was new or unknown, or the refusal is of another kind).
 */
export function overwriteRefused(
  error: unknown,
  ref: string,
  held: string | undefined,
  wanted: string
): TagOverwriteRefusedError | undefined {
  if (held === undefined || held === wanted || !(error instanceof RegistryError)) return undefined
  const refused =
    REFUSAL_STATUSES.has(error.status) ||
    ((error.status === 400 || error.status === 403) && error.details.some((d) => REFUSAL_CODES.has(d.code)))
  return refused ? new TagOverwriteRefusedError(ref, held, wanted, error) : undefined
}
