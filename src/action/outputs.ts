/** Step outputs and the job summary, from the engine's result. */
import * as core from '@actions/core'
import type { CopyResult, PushedReference } from '../engine/copy-artifact.js'
import { formatBytes } from '../size.js'

export function setOutputs(result: CopyResult): void {
  const first = result.pushed.find((p) => p.tag !== undefined) ?? result.pushed[0]
  core.setOutput('image', first?.ref ?? '')
  core.setOutput('digest', result.digest)
  core.setOutput('tag', first?.tag ?? '')
  core.setOutput('mediaType', result.mediaType)
  core.setOutput('size', String(result.size))
  // The output's contract (DESIGN §3) is these four fields per reference.
  core.setOutput('pushed', JSON.stringify(result.pushed.map(({ ref, digest, mediaType, size }) => ({ ref, digest, mediaType, size }))))
}

/** Nothing was pushed (archives that held no image): every output set, empty. */
export function setEmptyOutputs(): void {
  for (const name of ['image', 'digest', 'tag', 'mediaType', 'size']) core.setOutput(name, '')
  core.setOutput('pushed', '[]')
}

/** The summary of a copy that failed after writing some tags: which ones are in place. */
export async function writeFailureSummary(written: readonly PushedReference[]): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  await core.summary
    .addHeading('oci-push failed', 3)
    .addRaw('Written before the failure (each complete):', true)
    .addTable([
      [
        { data: 'Reference', header: true },
        { data: 'Digest', header: true }
      ],
      ...written.map((p) => [p.ref, p.digest])
    ])
    .write()
}

export async function writeSummary(result: CopyResult): Promise<void> {
  // Outside a runner (a local run) there is no summary file to write to.
  if (!process.env.GITHUB_STEP_SUMMARY) return
  const { stats } = result
  const summary = core.summary.addHeading('oci-push', 3).addTable([
    [
      { data: 'Reference', header: true },
      { data: 'Digest', header: true },
      { data: 'Media type', header: true },
      { data: 'Size', header: true }
    ],
    ...result.pushed.map((p) => [p.ref, p.digest, p.mediaType, formatBytes(p.size)])
  ])
  if (result.referrers.length > 0) {
    summary.addTable([
      [
        { data: 'Referrer copied', header: true },
        { data: 'Kind', header: true },
        { data: 'Refers to', header: true }
      ],
      ...result.referrers.map((r) => [r.digest, r.kind, r.subject])
    ])
  }
  if (result.rewritten.length > 0) {
    summary.addTable([
      [
        { data: 'Rewritten manifest', header: true },
        { data: 'New digest', header: true },
        { data: 'Media type', header: true }
      ],
      ...result.rewritten.map((r) => [r.from, r.to, r.mediaType])
    ])
  }
  await summary
    .addTable([
      [
        { data: 'Bytes uploaded', header: true },
        { data: 'Blobs mounted', header: true },
        { data: 'Blobs skipped', header: true },
        { data: 'Blobs uploaded', header: true },
        { data: 'Seconds', header: true }
      ],
      [
        formatBytes(stats.bytesUploaded),
        String(stats.blobsMounted),
        String(stats.blobsSkipped),
        String(stats.blobsUploaded),
        result.seconds.toFixed(1)
      ]
    ])
    .write()
}
