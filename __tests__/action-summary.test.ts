/** The job summary as Markdown, and the `mirrored` output kept within GitHub's limits. */
import { describe, expect, test } from '@jest/globals'
import { capRows } from '../src/action/outputs.js'
import { mirroredObject } from '../src/engine/mirror.js'
import {
  cell,
  copySummary,
  failureSummary,
  markdownTable,
  mirrorFailures,
  mirrorSummary,
  type RunDescription
} from '../src/action/summary.js'
import type { CopyResult } from '../src/engine/copy-artifact.js'
import type { MirrorResult, MirrorRow, MirrorStatus } from '../src/engine/mirror.js'

const digest = `sha256:${'a'.repeat(64)}`
const run: RunDescription = { source: 'r.io/app:v1', platforms: ['linux/amd64', 'linux/arm64'], dryRun: false }
const stats = { blobsMounted: 1, blobsSkipped: 2, blobsUploaded: 3, bytesUploaded: 4096, manifestsPushed: 1 }
const result: CopyResult = {
  digest,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  size: 512,
  pushed: [{ ref: 'q.io/app:v1', tag: 'v1', digest, mediaType: 'application/vnd.oci.image.index.v1+json', size: 512 }],
  rewritten: [],
  referrers: [],
  stats,
  seconds: 1.25
}

function row(status: MirrorStatus, i: number, extra: Partial<MirrorRow> = {}): MirrorRow {
  return { source: `r.io/app:${i}`, destination: `q.io/app:${i}`, digest, status, bytes: 10, entry: 1, seconds: 0.1, ...extra }
}

/** The rows of a Markdown table in `text` whose first cell is `first`. */
const rowsStarting = (text: string, first: string) => text.split('\n').filter((line) => line.startsWith(`| ${first} |`))

describe('Markdown tables', () => {
  test.each([
    ['a|b', 'a\\|b'],
    ['^1\\.2[5-9]$', '^1\\\\.2[5-9]$'],
    ['Link: <https://x>; rel="next" & more', 'Link: &lt;https://x&gt;; rel="next" &amp; more'],
    ['two\nlines', 'two lines']
  ])('%j is the cell %j', (text, escaped) => {
    expect(cell(text)).toBe(escaped)
  })

  test('a header, a separator and one line per row, every cell escaped', () => {
    expect(markdownTable(['A', 'B'], [['1', 'x|y']])).toBe('| A | B |\n|---|---|\n| 1 | x\\|y |\n\n')
  })
})

describe('copySummary', () => {
  test('the source, the platforms, what was written and the transfer counts, as Markdown tables', () => {
    const text = copySummary(result, run)
    expect(text).toMatch(/^### oci-push\n/)
    expect(text).not.toContain('<table')
    expect(text).toContain('| Source | Platforms |\n|---|---|\n| r.io/app:v1 | linux/amd64, linux/arm64 |')
    expect(text).toContain(`| q.io/app:v1 | ${digest} | application/vnd.oci.image.index.v1+json | 512 B |`)
    expect(text).toContain('| 4.0 KiB | 1 | 2 | 3 | 1.3 |')
  })

  test('a dry run says nothing was written, what would be, and the bytes to upload at most', () => {
    const text = copySummary({ ...result, planned: { bytes: 3 * 1024 * 1024 } }, { ...run, platforms: [], dryRun: true })
    expect(text).toMatch(/^### oci-push: dry run, nothing written\n/)
    expect(text).toContain('| r.io/app:v1 | all |')
    expect(text).toContain('| Would write | Digest | Media type | Size |')
    expect(text).toContain('| Bytes to upload at most | Seconds |\n|---|---|\n| 3.0 MiB | 1.3 |')
  })
})

describe('failureSummary', () => {
  test('the error and every reference written before it', () => {
    const text = failureSummary(run, 'push q.io/app:two: 403 DENIED', [
      { ref: 'q.io/app:one', digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 100, how: 'tagged' }
    ])
    expect(text).toMatch(/^### oci-push failed\n/)
    expect(text).toContain('| r.io/app:v1 | linux/amd64, linux/arm64 |')
    expect(text).toContain('| Failed |\n|---|\n| push q.io/app:two: 403 DENIED |')
    expect(text).toContain(`| q.io/app:one | ${digest} | tagged |`)
  })

  test('nothing written, and inputs that could not be read', () => {
    const text = failureSummary({ platforms: [], dryRun: false }, 'destRef: required', [])
    expect(text).toContain('No reference was written.')
    expect(text).toContain('| (inputs not read) | all |')
  })
})

describe('mirrorSummary', () => {
  const mirrorResult: MirrorResult = {
    rows: [
      row('copied', 1, { bytes: 2048 }),
      row('skipped', 2, { bytes: 0 }),
      row('failed', 3, { digest: '', bytes: 0, error: 'fetch r.io/app:3: 429 TOOMANYREQUESTS | pull limit' })
    ],
    entryErrors: [{ entry: 2, source: 'r.io/gone', error: 'list tags of r.io/gone: 404 NAME_UNKNOWN' }],
    shard: { index: 1, count: 4 },
    seconds: 2.5
  }
  const failures = mirrorFailures(mirrorResult, (entry) => (entry === 2 ? 'q.io/gone' : ''))

  test('the failed pairs and the entries whose tags could not be listed', () => {
    expect(failures).toEqual([
      { source: 'entry 2 (r.io/gone)', destination: 'q.io/gone', error: 'list tags of r.io/gone: 404 NAME_UNKNOWN' },
      { source: 'r.io/app:3', destination: 'q.io/app:3', error: 'fetch r.io/app:3: 429 TOOMANYREQUESTS | pull limit' }
    ])
  })

  test("this shard's counts, a table of failures and one of the pairs copied", () => {
    const text = mirrorSummary(mirrorResult, { source: 'mirror.yml, 2 entries', platforms: [], dryRun: false }, failures, {
      kept: 3,
      total: 3
    })
    expect(text).toMatch(/^### oci-push mirror\n/)
    expect(text).toContain(
      '| Shard | Copied | Skipped | New referrers | Failed | Planned | Bytes | Time |\n|---|---|---|---|---|---|---|---|\n| 1/4 | 1 | 1 | 0 | 2 | 0 | 2.0 KiB | 2.5 s |'
    )
    expect(rowsStarting(text, 'r.io/app:3')).toEqual(['| r.io/app:3 | q.io/app:3 | fetch r.io/app:3: 429 TOOMANYREQUESTS \\| pull limit |'])
    expect(rowsStarting(text, 'entry 2 (r.io/gone)')).toHaveLength(1)
    expect(text).toContain('#### Copied')
    expect(rowsStarting(text, 'r.io/app:1')).toEqual([`| r.io/app:1 | q.io/app:1 | ${digest} | 2.0 KiB |`])
    // Up-to-date pairs are counted, not listed.
    expect(rowsStarting(text, 'r.io/app:2')).toEqual([])
    expect(text).not.toContain('left out')
  })

  test('a dry run lists what would be copied, and rows left out of the output are said', () => {
    const planned: MirrorResult = { rows: [row('planned', 1)], entryErrors: [], seconds: 1 }
    const text = mirrorSummary(planned, { platforms: [], dryRun: true }, [], { kept: 2000, total: 2500 })
    expect(text).toMatch(/^### oci-push mirror: dry run, nothing written\n/)
    expect(text).toContain('| all (not sharded) | 0 | 0 | 0 | 0 | 1 | 10 B | 1.0 s |')
    expect(text).toContain('#### Would copy')
    expect(text).toContain('lists 2000 of 2500 pairs')
    expect(text).toContain('500 left out')
  })
})

describe('the mirrored output', () => {
  test('source, destination, digest, status and bytes, and error on a failed row', () => {
    expect(Object.keys(mirroredObject(row('failed', 1, { error: 'x' })))).toEqual([
      'source',
      'destination',
      'digest',
      'status',
      'bytes',
      'error'
    ])
    expect(Object.keys(mirroredObject(row('copied', 1)))).toEqual(['source', 'destination', 'digest', 'status', 'bytes'])
  })

  test('up to the cap every row is kept', () => {
    const rows = Array.from({ length: 5 }, (_, i) => row('copied', i))
    expect(capRows(rows, 5)).toEqual(rows)
  })

  test('past the cap: every failed row, then the first others, in the run order', () => {
    const rows = Array.from({ length: 10 }, (_, i) => row(i === 7 || i === 9 ? 'failed' : 'skipped', i))
    expect(capRows(rows, 4).map((r) => r.source)).toEqual(['r.io/app:0', 'r.io/app:1', 'r.io/app:7', 'r.io/app:9'])
  })

  test('failed rows past the cap are kept too', () => {
    const rows = Array.from({ length: 6 }, (_, i) => row(i < 3 ? 'copied' : 'failed', i))
    expect(capRows(rows, 2).map((r) => r.status)).toEqual(['failed', 'failed', 'failed'])
  })

  test('2,500 rows with long names stay within the byte budget', () => {
    const long = 'x'.repeat(400)
    const rows = Array.from({ length: 2500 }, (_, i) => row(i % 100 === 0 ? 'failed' : 'copied', i, { source: `r.io/${long}:${i}` }))
    const kept = capRows(rows, 2000, 768 * 1024)
    expect(Buffer.byteLength(JSON.stringify(kept.map(mirroredObject)))).toBeLessThanOrEqual(768 * 1024)
    expect(kept.filter((r) => r.status === 'failed')).toHaveLength(25)
    expect(kept.length).toBeLessThan(2000)
  })
})
