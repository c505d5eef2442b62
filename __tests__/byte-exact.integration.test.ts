/**
 * Manifests as BuildKit and `docker push` (indented) and Go's encoder (newline-terminated) write
 * them, copied through a real registry with platforms and annotations: what is kept is byte for
 * byte the source's, read back with skopeo.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { parseAnnotations } from '../src/annotations.js'
import { sha256 } from '../src/digest.js'
import { parsePlatform } from '../src/platform.js'
import { image, index, JSON_FORMATS, pushFixture, type JsonFormat } from '../testbed/fixtures.js'
import { startRegistry, type TestRegistry } from '../testbed/registry.js'
import { requireTools, skopeoPullAll, skopeoRaw, type RawManifest } from '../testbed/tools.js'
import { copy } from './helpers/copy.js'

let a: TestRegistry
let b: TestRegistry

function fixtures(format: JsonFormat) {
  const amd64 = image({ seed: `bei-amd64-${format}`, format })
  const arm64 = image({ seed: `bei-arm64-${format}`, architecture: 'arm64', format })
  const s390x = image({ seed: `bei-s390x-${format}`, architecture: 's390x', format })
  return { amd64, arm64, s390x, multi: index([amd64, arm64, s390x], { format }) }
}
const all = Object.fromEntries(JSON_FORMATS.map((f) => [f, fixtures(f)]))

beforeAll(async () => {
  await requireTools(['docker-registry', 'skopeo'])
  ;[a, b] = await Promise.all([startRegistry(), startRegistry()])
  for (const format of JSON_FORMATS) {
    await pushFixture(a.host, `${format}/multi`, all[format].multi, 'v1')
    await pushFixture(a.host, `${format}/single`, all[format].amd64, 'v1')
  }
}, 120_000)

afterAll(async () => {
  await Promise.all([a, b].map((r) => r?.stop()))
})

const stored = async (ref: string) => Buffer.from(await skopeoRaw(ref))
const platforms = (...texts: string[]) => texts.map((t) => parsePlatform(t)!)

describe.each(JSON_FORMATS)('a %s index through a registry', (format) => {
  const { amd64, arm64, s390x, multi } = all[format]

  test("platforms: linux/arm64/v8 pushes the arm64 child's own bytes", async () => {
    const result = await copy(`${a.host}/${format}/multi:v1`, `${b.host}/${format}/arm:v1`, {
      transform: { platforms: platforms('linux/arm64/v8') }
    })
    expect(result.digest).toBe(arm64.root.digest)
    expect((await stored(`${b.host}/${format}/arm:v1`)).equals(arm64.root.bytes)).toBe(true)
  })

  test('several platforms in either order: one digest, children byte for byte', async () => {
    const one = await copy(`${a.host}/${format}/multi:v1`, `${b.host}/${format}/two:a`, {
      transform: { platforms: platforms('linux/s390x', 'linux/amd64') }
    })
    const other = await copy(`${a.host}/${format}/multi:v1`, `${b.host}/${format}/two:b`, {
      transform: { platforms: platforms('linux/amd64', 'linux/s390x') }
    })
    expect(one.digest).toBe(other.digest)
    const root = JSON.parse((await stored(`${b.host}/${format}/two:a`)).toString('utf8')) as RawManifest
    expect(root.manifests?.map((d) => d.digest)).toEqual([amd64.root.digest, s390x.root.digest])
    for (const child of [amd64, s390x])
      expect((await stored(`${b.host}/${format}/two@${child.root.digest}`)).equals(child.root.bytes)).toBe(true)
    await skopeoPullAll(`${b.host}/${format}/two:a`)
  })

  test('an index: annotation rewrites the index alone', async () => {
    const result = await copy(`${a.host}/${format}/multi:v1`, `${b.host}/${format}/annotated:v1`, {
      transform: { annotations: parseAnnotations('index:org.opencontainers.image.version=1.2.3') }
    })
    expect(result.rewritten.map((r) => r.from)).toEqual([multi.root.digest])
    const root = await stored(`${b.host}/${format}/annotated:v1`)
    expect(sha256(root)).toBe(result.digest)
    const json = JSON.parse(root.toString('utf8')) as RawManifest
    expect(json.annotations).toEqual({ 'org.opencontainers.image.version': '1.2.3' })
    expect(json.manifests?.map((d) => d.digest)).toEqual([amd64.root.digest, arm64.root.digest, s390x.root.digest])
    for (const child of [amd64, arm64, s390x])
      expect((await stored(`${b.host}/${format}/annotated@${child.root.digest}`)).equals(child.root.bytes)).toBe(true)
  })

  test('an index: annotation on a single image: the same digest as the source', async () => {
    const result = await copy(`${a.host}/${format}/single:v1`, `${b.host}/${format}/single:v1`, {
      transform: { annotations: parseAnnotations('index:org.opencontainers.image.version=1.2.3') }
    })
    expect(result.digest).toBe(amd64.root.digest)
    expect((await stored(`${b.host}/${format}/single:v1`)).equals(amd64.root.bytes)).toBe(true)
  })
})
