/**
 * Where distribution's storage driver keeps what a registry holds (`registry/storage/paths.go` in
 * distribution/distribution): the layout of a `registry:2` storage directory, and so of a
 * mindthegap bundle, which is a tar of one. `<root>` is `docker/registry` (storagePathRoot), at
 * the top of the tar; the version component is `v2` (storagePathVersion). Two paths are read:
 *
 *   manifestTagCurrentPathSpec: <root>/v2/repositories/<name>/_manifests/tags/<tag>/current/link
 *   blobDataPathSpec:           <root>/v2/blobs/<algorithm>/<first two hex bytes of digest>/<hex digest>/data
 *
 * A tag's `current/link` holds the digest of its manifest, whose bytes are the blob at that
 * digest's `data`, as every config and layer it names are. The tree also holds, never read here:
 * layerLinkPathSpec (`<name>/_layers/<algorithm>/<hex digest>/link`, which blobs a repository may
 * serve: the manifest says which blobs an image needs), manifestRevisionLinkPathSpec
 * (`<name>/_manifests/revisions/<algorithm>/<hex digest>/link`, every manifest ever pushed, tagged
 * or not: only tags name what to push), the tag index (`tags/<tag>/index/…`) and `_uploads`.
 */
import { isDigest } from '../digest.js'

/** storagePathRoot + storagePathVersion, as tar entry names have it (normalised, no leading `/`). */
export const STORAGE_TREE = 'docker/registry/v2/'

/**
 * manifestTagCurrentPathSpec. `<name>` may hold `/`; it ends at the first `/_manifests/tags/` that
 * leaves a well-formed rest (no repository path component starts with `_`, so a name with
 * `_manifests` in it is one the grammar refuses, never a different split).
 */
const TAG_LINK = /^docker\/registry\/v2\/repositories\/(.+?)\/_manifests\/tags\/([^/]+)\/current\/link$/

/** blobDataPathSpec, whatever the algorithm and digest: which entries are content, not links. */
const BLOB_DATA = /^docker\/registry\/v2\/blobs\/[^/]+\/[^/]+\/[^/]+\/data$/

/** A link holds a digest, a sha512 one 135 characters: a file much larger is not a link (and is not read as one). */
export const MAX_LINK_BYTES = 256

/** Whether an entry is part of a registry storage tree. */
export function isStorageTreeEntry(name: string): boolean {
  return name.startsWith(STORAGE_TREE)
}

/** The repository and tag a tag's `current/link` entry is for, as the path spells them (unchecked). */
export function tagLinkOf(name: string): { repository: string; tag: string } | undefined {
  const match = TAG_LINK.exec(name)
  return match ? { repository: match[1], tag: match[2] } : undefined
}

/** Whether an entry is a blob's `data`: content stored by digest, pushed as it is. */
export function isStorageBlob(name: string): boolean {
  return BLOB_DATA.test(name)
}

/**
 * blobDataPathSpec of `digest`. Only a digest by the grammar (algorithm:hex) becomes a path: the
 * caller has checked it, and this refuses to make a path of anything else.
 */
export function blobDataPath(digest: string): string {
  if (!isDigest(digest)) throw new Error(`blobDataPath: ${JSON.stringify(digest)} is not a digest`)
  const colon = digest.indexOf(':')
  const hex = digest.slice(colon + 1)
  return `${STORAGE_TREE}blobs/${digest.slice(0, colon)}/${hex.slice(0, 2)}/${hex}/data`
}
