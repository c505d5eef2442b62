import { describe, expect, test } from '@jest/globals'
import { formatReference, isLoopback, parseReference, registryOrigin, apiHost } from '../src/reference.js'

const D = `sha256:${'a'.repeat(64)}`

describe('parseReference', () => {
  test.each([
    ['nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['nginx:1.25', 'docker.io', 'library/nginx', '1.25', undefined],
    ['bitnami/redis:7', 'docker.io', 'bitnami/redis', '7', undefined],
    ['docker.io/nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['index.docker.io/library/nginx:latest', 'docker.io', 'library/nginx', 'latest', undefined],
    ['ghcr.io/org/app:v1.2.3', 'ghcr.io', 'org/app', 'v1.2.3', undefined],
    [`ghcr.io/org/app@${D}`, 'ghcr.io', 'org/app', undefined, D],
    [`ghcr.io/org/app:v1@${D}`, 'ghcr.io', 'org/app', 'v1', D],
    ['localhost/app', 'localhost', 'app', undefined, undefined],
    ['localhost:5000/a/b/c:t', 'localhost:5000', 'a/b/c', 't', undefined],
    ['127.0.0.1:5000/app:v1', '127.0.0.1:5000', 'app', 'v1', undefined],
    ['[::1]:5000/app:v1', '[::1]:5000', 'app', 'v1', undefined],
    ['[::1]/app', '[::1]', 'app', undefined, undefined],
    ['Registry.Example.COM/app', 'registry.example.com', 'app', undefined, undefined],
    ['oci://ghcr.io/org/charts/redis:19.0.0', 'ghcr.io', 'org/charts/redis', '19.0.0', undefined],
    ['https://127.0.0.1:5000/app', '127.0.0.1:5000', 'app', undefined, undefined],
    ['example.com/a_b/c__d/e-f/g--h/i.j:T_1.x-y', 'example.com', 'a_b/c__d/e-f/g--h/i.j', 'T_1.x-y', undefined],
    ['  nginx  ', 'docker.io', 'library/nginx', undefined, undefined]
  ])('%s', (text, registry, repository, tag, digest) => {
    const ref = parseReference(text)
    expect(ref.registry).toBe(registry)
    expect(ref.repository).toBe(repository)
    expect(ref.tag).toBe(tag)
    expect(ref.digest).toBe(digest)
  })

  test('remembers the scheme', () => {
    expect(parseReference('oci://ghcr.io/a/b').scheme).toBe('oci')
    expect(parseReference('ghcr.io/a/b').scheme).toBeUndefined()
  })

  test.each([
    ['', /empty/],
    ['Nginx', /lowercase/],
    ['ghcr.io/Org/app', /lowercase/],
    ['ghcr.io/app:', /not a valid tag/],
    ['ghcr.io/app:-x', /not a valid tag/],
    [`ghcr.io/app:${'x'.repeat(129)}`, /not a valid tag/],
    ['ghcr.io/app@sha256:abc', /not a digest/],
    ['ghcr.io/app@md5:' + 'a'.repeat(32), /not a digest/],
    ['ghcr.io/', /repository name is missing/],
    ['ghcr.io/a//b', /path component/],
    ['ghcr.io/-a', /path component/],
    ['ghcr.io/a-', /path component/],
    ['localhost:99999/app', /not a valid port/],
    ['localhost:x/app', /not a valid port/],
    ['bad_host.io/app', /not a valid registry host/],
    ['ftp://ghcr.io/app', /unknown scheme/],
    ['https://app', /needs a registry host/],
    [`example.com/${'a'.repeat(250)}`, /longer than 255/]
  ])('refuses %j', (text, problem) => {
    expect(() => parseReference(text)).toThrow(problem)
  })
})

describe('where a reference is served', () => {
  test.each([
    ['nginx', false, 'https://registry-1.docker.io'],
    ['ghcr.io/a/b', false, 'https://ghcr.io'],
    ['ghcr.io/a/b', true, 'http://ghcr.io'],
    ['http://registry.internal:5000/a', false, 'http://registry.internal:5000'],
    ['localhost:5000/a', false, 'http://localhost:5000'],
    ['127.0.0.2:5000/a', false, 'http://127.0.0.2:5000'],
    ['[::1]:5000/a', false, 'http://[::1]:5000'],
    ['https://localhost:5000/a', false, 'https://localhost:5000'],
    ['oci://localhost:5000/a', false, 'http://localhost:5000']
  ])('%s (plainHttp %s) -> %s', (text, plainHttp, origin) => {
    expect(registryOrigin(parseReference(text), plainHttp)).toBe(origin)
  })

  test.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['127.0.0.1:5000', true],
    ['127.10.0.1', true],
    ['[::1]:5000', true],
    ['128.0.0.1', false],
    ['localhost.example.com', false],
    ['ghcr.io', false]
  ])('isLoopback(%s) = %s', (registry, expected) => {
    expect(isLoopback(registry)).toBe(expected)
  })

  test('Docker Hub API host and canonical form', () => {
    const ref = parseReference('nginx')
    expect(apiHost(ref)).toBe('registry-1.docker.io')
    expect(formatReference({ ...ref, tag: 'latest' })).toBe('docker.io/library/nginx:latest')
    expect(formatReference(parseReference(`localhost:5000/a:t@${D}`))).toBe(`localhost:5000/a:t@${D}`)
  })
})
