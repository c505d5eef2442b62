/**
 * `npm run demo`: the action's main job on an embedded default, with nothing external. Starts two
 * loopback registries, seeds one with a small multi-arch image it builds, then runs the bundled
 * action as the runner would to retag it in place and promote it to another repository and to
 * the other registry, then mirrors the release tags to the other registry twice (a copy, then a
 * re-run that finds them up to date). Prints the log, the outputs and the job summary, which is
 * Markdown, as GitHub renders it on the run's page.
 */
import { runAction, type ActionRun } from './action.js'
import { image, index, pushFixture } from './fixtures.js'
import { startRegistry } from './registry.js'
import { requireTools } from './tools.js'

async function main(): Promise<void> {
  await requireTools(['docker-registry'])
  const [registry, prod] = await Promise.all([startRegistry(), startRegistry()])
  try {
    const build = index([image({ seed: 'demo-amd64' }), image({ seed: 'demo-arm64', architecture: 'arm64', variant: 'v8' })])
    await pushFixture(registry.host, 'demo/app', build, 'build-1')
    console.log(`Seeded ${registry.host}/demo/app:build-1 (${build.root.digest}, 2 platforms)\n`)

    const srcRef = `${registry.host}/demo/app:build-1`
    // A retag in place, a promotion to another repository (mounts), and one to another registry (uploads).
    const destRef = [
      `${registry.host}/demo/app:v1.0.0`,
      `${registry.host}/demo/app:latest`,
      `${registry.host}/release/app:v1.0.0`,
      `${prod.host}/app:v1.0.0`
    ].join('\n')
    console.log(`Running the action: srcRef=${srcRef}\n  destRef=${destRef.replace(/\n/g, '\n          ')}\n`)
    show(await runAction({ srcRef, destRef }))

    const mirror = `mirrors:\n  - source: ${registry.host}/demo/app\n    destination: ${prod.host}/mirror/app\n    tags: { semver: ">=1" }\n`
    console.log(`\nRunning the action with mirror:\n${mirror.replace(/^/gm, '  ')}`)
    show(await runAction({ mirror }))
    console.log('\nThe same mirror again: every tag is up to date (two HEADs each, nothing uploaded).\n')
    show(await runAction({ mirror }))
  } finally {
    await Promise.all([registry.stop(), prod.stop()])
  }
}

/** What the runner would show: the log (debug lines hidden, as the runner hides them), the outputs, the job summary. */
function show(result: ActionRun): void {
  // The runner hides debug lines unless step debugging is on; so does the demo (DEMO_DEBUG=1 shows them).
  const shown = process.env.DEMO_DEBUG ? result.stdout : result.stdout.replace(/^::debug::.*\n/gm, '')
  process.stdout.write(shown)
  process.stderr.write(result.stderr)
  console.log('\nOutputs:')
  for (const [name, value] of Object.entries(result.outputs)) console.log(`  ${name} = ${value}`)
  console.log(`\nJob summary (Markdown):\n\n${result.summary}`)
  if (result.exitCode !== 0) throw new Error(`the action failed with exit code ${result.exitCode}`)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
