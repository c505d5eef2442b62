/**
 * How hosted registries answer uploads, played by the recording proxy in front of distribution
 * (issue 25 §1; PEERS "Hosted registries"), so a streamed upload is tested against the manners
 * we cannot reach here.
 */
import type { RecordedRequest, RecordingProxy } from './proxy.js'
import { registryError } from './proxy.js'

const MiB = 1024 * 1024
const isUploadPatch = (r: RecordedRequest) => r.method === 'PATCH' && r.path.includes('/blobs/uploads/')
const isUploadStart = (r: RecordedRequest) => r.method === 'POST' && r.path.includes('/blobs/uploads/') && !r.path.includes('mount=')

export type UploadManners =
  /** ghcr.io: a `PATCH` chunk (`Content-Range`) over 4 MiB is refused with 416; a whole streamed body is taken. */
  | 'ghcr'
  /** ECR: the `PATCH` is answered 201, not 202, with a `Range` that lags behind what was sent. */
  | 'ecr'
  /** A registry asking for chunks of at least 64 MiB (`OCI-Chunk-Min-Length` on the `POST`). */
  | 'chunk-min-length'
  /** A registry that takes no body of unknown length: a `PATCH` without `Content-Length` gets 411. */
  | 'no-streamed-patch'

export function playUploadManners(proxy: RecordingProxy, manners: UploadManners): void {
  if (manners === 'ghcr') {
    proxy.faults.answer = (r) =>
      isUploadPatch(r) && r.headers['content-range'] !== undefined && Number(r.headers['content-length'] ?? Infinity) > 4 * MiB
        ? registryError(416, 'SIZE_INVALID', 'chunk too large')
        : undefined
  } else if (manners === 'ecr') {
    proxy.faults.editResponse = (r, response) => {
      if (!isUploadPatch(r) || response.status !== 202) return
      response.status = 201
      response.headers.range = '0-0'
    }
  } else if (manners === 'chunk-min-length') {
    proxy.faults.editResponse = (r, response) => {
      if (isUploadStart(r) && response.status === 202) response.headers['oci-chunk-min-length'] = String(64 * MiB)
    }
  } else {
    proxy.faults.answer = (r) =>
      isUploadPatch(r) && r.headers['content-length'] === undefined ? registryError(411, 'SIZE_INVALID', 'length required') : undefined
  }
}
