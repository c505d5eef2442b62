/** A mirror's log: each pair's lines held back and printed as one group when it ends; progress between groups. */
import { describe, expect, test } from '@jest/globals'
import { MirrorLog, type GroupedLog } from '../src/action/mirror-report.js'
import { ProgressMeter } from '../src/progress.js'

const digest = `sha256:${'b'.repeat(64)}`

/** Records what the log prints, groups as `::group::` / `::endgroup::` lines as the runner sees them. */
function recorder(): { out: GroupedLog; lines: string[] } {
  const lines: string[] = []
  const out: GroupedLog = {
    startGroup: (title) => lines.push(`::group::${title}`),
    endGroup: () => lines.push('::endgroup::'),
    debug: (text) => lines.push(`::debug::${text}`),
    info: (text) => lines.push(text),
    warning: (text) => lines.push(`::warning::${text}`),
    notice: (text) => lines.push(`::notice::${text}`),
    secret: (value) => lines.push(`::add-mask::${value}`)
  }
  return { out, lines }
}

/** Lines printed outside any group. */
function outsideGroups(lines: readonly string[]): string[] {
  let depth = 0
  return lines.filter((line) => {
    if (line.startsWith('::group::')) depth++
    else if (line === '::endgroup::') depth--
    else return depth === 0
    return false
  })
}

describe('MirrorLog', () => {
  test('pairs running side by side: one whole group each, when it ends; progress lines outside groups', () => {
    const { out, lines } = recorder()
    let now = 0
    const log = new MirrorLog(out, new ProgressMeter(5000, () => now), false)
    const a = log.reporterFor({ source: 'r.io/app:1', destination: 'q.io/app:1' })
    const b = log.reporterFor({ source: 'r.io/app:2', destination: 'q.io/app:2' })
    a.event({ type: 'artifact-started', source: 'r.io/app:1', destinations: ['q.io/app:1'] })
    b.event({ type: 'artifact-started', source: 'r.io/app:2', destinations: ['q.io/app:2'] })
    a.event({ type: 'transfer-planned', target: 'q.io/app', blobs: 1, bytes: 8 * 1024 * 1024 })
    a.event({ type: 'blob-started', target: 'q.io/app', digest, size: 8 * 1024 * 1024 })
    a.debug('HEAD /v2/app/blobs/…')
    a.secret('s3cret')
    now = 6000
    a.event({ type: 'blob-progress', target: 'q.io/app', digest, done: 4 * 1024 * 1024, size: 8 * 1024 * 1024 })
    b.event({ type: 'skipped', source: 'r.io/app:2', destination: 'q.io/app:2', digest })
    b.event({ type: 'artifact-done', source: 'r.io/app:2', digest, seconds: 0.1 })
    a.warning('a warning of pair 1')
    a.event({ type: 'blob-done', target: 'q.io/app', digest, size: 8 * 1024 * 1024, outcome: 'uploaded' })
    a.event({ type: 'artifact-done', source: 'r.io/app:1', digest, seconds: 2 })
    log.flush()

    expect(lines).toEqual([
      '::add-mask::s3cret',
      expect.stringMatching(/^Progress: 4\.0 MiB of 8\.0 MiB \(50%\)/),
      '::group::r.io/app:2 → q.io/app:2: up to date',
      'Copying r.io/app:2 to q.io/app:2',
      `q.io/app:2 is up to date with r.io/app:2 (${digest})`,
      `Done in 0.1 s: ${digest}`,
      '::endgroup::',
      '::group::r.io/app:1 → q.io/app:1: copied',
      'Copying r.io/app:1 to q.io/app:1',
      '::debug::HEAD /v2/app/blobs/…',
      '::warning::a warning of pair 1',
      `Done in 2.0 s: ${digest}`,
      '::endgroup::'
    ])
    expect(outsideGroups(lines).filter((line) => line.startsWith('Progress:'))).toHaveLength(1)
  })

  test('a failed pair, a planned one (dry run), and one a stopped run never ended', () => {
    const { out, lines } = recorder()
    const log = new MirrorLog(out, new ProgressMeter(5000), true)
    const failed = log.reporterFor({ source: 'r.io/a:1', destination: 'q.io/a:1' })
    const planned = log.reporterFor({ source: 'r.io/a:2', destination: 'q.io/a:2' })
    const stopped = log.reporterFor({ source: 'r.io/a:3', destination: 'q.io/a:3' })
    const silent = log.reporterFor({ source: 'r.io/a:4', destination: 'q.io/a:4' })
    stopped.event({ type: 'artifact-started', source: 'r.io/a:3', destinations: ['q.io/a:3'] })
    failed.event({ type: 'artifact-started', source: 'r.io/a:1', destinations: ['q.io/a:1'] })
    failed.event({ type: 'artifact-failed', source: 'r.io/a:1', error: new Error('429 TOOMANYREQUESTS') })
    planned.event({ type: 'artifact-done', source: 'r.io/a:2', digest, seconds: 0 })
    expect(lines.filter((l) => l.startsWith('::group::'))).toEqual([
      '::group::r.io/a:1 → q.io/a:1: failed',
      '::group::r.io/a:2 → q.io/a:2: planned'
    ])
    log.flush()
    void silent
    expect(lines.filter((l) => l.startsWith('::group::'))).toEqual([
      '::group::r.io/a:1 → q.io/a:1: failed',
      '::group::r.io/a:2 → q.io/a:2: planned',
      '::group::r.io/a:3 → q.io/a:3: unfinished'
    ])
    expect(lines).toContain('Failed: 429 TOOMANYREQUESTS')
    expect(lines.filter((l) => l === '::endgroup::')).toHaveLength(3)
  })

  test('a pair found up to date by its HEADs alone is one group, with no line of a copy', () => {
    const { out, lines } = recorder()
    const log = new MirrorLog(out, new ProgressMeter(5000), false)
    const pair = log.reporterFor({ source: 'r.io/app:3', destination: 'q.io/app:3' })
    pair.event({ type: 'skipped', source: 'r.io/app:3', destination: 'q.io/app:3', digest })
    pair.event({ type: 'artifact-done', source: 'r.io/app:3', digest, seconds: 0 })
    log.flush()
    expect(lines).toEqual([
      '::group::r.io/app:3 → q.io/app:3: up to date',
      `q.io/app:3 is up to date with r.io/app:3 (${digest})`,
      '::endgroup::'
    ])
  })

  test('a pair that only brought new referrers says so in its title', () => {
    const { out, lines } = recorder()
    const log = new MirrorLog(out, new ProgressMeter(5000), false)
    const pair = log.reporterFor({ source: 'r.io/app:4', destination: 'q.io/app:4' })
    pair.event({ type: 'artifact-started', source: 'r.io/app:4', destinations: ['q.io/app:4'] })
    pair.event({ type: 'referrer-copied', subject: digest, digest, kind: 'application/vnd.dev.sigstore.bundle.v0.3+json' })
    pair.event({ type: 'artifact-done', source: 'r.io/app:4', digest, seconds: 0.2 })
    expect(lines[0]).toBe('::group::r.io/app:4 → q.io/app:4: up to date, new referrers copied')
  })
})
