/** Where a chart goes (issue 23 §4): Helm's `oci://` namespace form, every other form exactly. */
import { describe, expect, test } from '@jest/globals'
import { formatEndpoint, parseEndpoint } from '../src/endpoint.js'
import { InputError } from '../src/errors.js'
import { chartDestination, isHelmNamespace } from '../src/package/chart-destination.js'

const chart = { name: 'mychart', tag: '0.1.0' }

describe('chartDestination', () => {
  test.each([
    ['oci://ghcr.io/org/charts', 'ghcr.io/org/charts/mychart:0.1.0'],
    ['oci://localhost:5000/charts', 'localhost:5000/charts/mychart:0.1.0'],
    // Not Helm's form: named exactly (the version tag is added elsewhere, as for any chart).
    ['ghcr.io/org/charts', 'ghcr.io/org/charts'],
    ['oci://ghcr.io/org/charts:0.1.0', 'ghcr.io/org/charts:0.1.0'],
    [`oci://ghcr.io/org/charts@sha256:${'a'.repeat(64)}`, `ghcr.io/org/charts@sha256:${'a'.repeat(64)}`],
    ['./layout', './layout']
  ])('%s → %s', (text, expected) => {
    expect(formatEndpoint(chartDestination(parseEndpoint(text), chart))).toBe(expected)
  })

  test('the oci:// scheme is kept: it picks the credentials (Helm registry config first)', () => {
    const dest = chartDestination(parseEndpoint('oci://ghcr.io/org/charts'), chart)
    expect(dest).toEqual({
      kind: 'registry',
      reference: { registry: 'ghcr.io', repository: 'org/charts/mychart', tag: '0.1.0', scheme: 'oci' }
    })
    expect(isHelmNamespace(dest)).toBe(false)
  })

  test.each(['MyChart', 'a/b', 'x'.repeat(250)])('chart name %s: an error naming destRef, saying what to write instead', (name) => {
    const fail = () => chartDestination(parseEndpoint('oci://ghcr.io/org/charts'), { name, tag: '1.0.0' })
    expect(fail).toThrow(InputError)
    expect(fail).toThrow(/^destRef: ghcr\.io\/org\/charts with oci:\/\/ and no tag .* e\.g\. ghcr\.io\/org\/charts\/<name>:1\.0\.0$/)
  })
})
