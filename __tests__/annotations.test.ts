import { describe, expect, test } from '@jest/globals'
import { AnnotationSyntaxError, parseAnnotations } from '../src/annotations.js'
import { formatPlatform, matchesPlatform, parsePlatform } from '../src/platform.js'

describe('parseAnnotations', () => {
  test.each([
    [
      'a plain key is a manifest annotation',
      'org.opencontainers.image.title=app',
      [{ scope: 'manifest', key: 'org.opencontainers.image.title', value: 'app' }]
    ],
    ['the value keeps = and spaces', 'k=a=b c', [{ scope: 'manifest', key: 'k', value: 'a=b c' }]],
    ['surrounding white space and blank lines are ignored', '\n  k = v  \n\n', [{ scope: 'manifest', key: 'k', value: 'v' }]],
    ['an empty value', 'k=', [{ scope: 'manifest', key: 'k', value: '' }]],
    ['index:', 'index:k=v', [{ scope: 'index', key: 'k', value: 'v' }]],
    ['manifest:', 'manifest:k=v', [{ scope: 'manifest', key: 'k', value: 'v' }]],
    ['manifest-descriptor:', 'manifest-descriptor:k=v', [{ scope: 'manifest-descriptor', key: 'k', value: 'v' }]],
    ['index-descriptor:', 'index-descriptor:k=v', [{ scope: 'index-descriptor', key: 'k', value: 'v' }]],
    [
      'one platform',
      'manifest[linux/arm64]:k=v',
      [{ scope: 'manifest', key: 'k', value: 'v', platforms: [{ os: 'linux', architecture: 'arm64' }] }]
    ],
    [
      'several platforms, with a variant',
      'manifest-descriptor[linux/amd64,linux/arm/v7]:k=v',
      [
        {
          scope: 'manifest-descriptor',
          key: 'k',
          value: 'v',
          platforms: [
            { os: 'linux', architecture: 'amd64' },
            { os: 'linux', architecture: 'arm', variant: 'v7' }
          ]
        }
      ]
    ],
    ['a colon in a dotted key is part of the key', 'com.example:thing=x', [{ scope: 'manifest', key: 'com.example:thing', value: 'x' }]],
    [
      "docker/metadata-action's output, pasted in",
      'manifest:org.opencontainers.image.version=1.2.3\nindex:org.opencontainers.image.version=1.2.3\n',
      [
        { scope: 'manifest', key: 'org.opencontainers.image.version', value: '1.2.3' },
        { scope: 'index', key: 'org.opencontainers.image.version', value: '1.2.3' }
      ]
    ]
  ])('%s', (_name, text, rules) => {
    expect(parseAnnotations(text)).toEqual(rules)
  })

  test.each([
    ['no =', 'a=1\nno-equals-here', 2, /expected key=value/],
    ['an empty key', '=v', 1, /the key is empty/],
    ['an unknown scope', 'layer:k=v', 1, /unknown scope "layer"/],
    ['a bad platform', 'manifest[linux]:k=v', 1, /"linux" is not a platform/],
    ['platforms on index', 'index[linux/amd64]:k=v', 1, /takes no platforms/],
    ['an empty key after a scope', 'index: =v', 1, /the key is empty/]
  ])('%s is an error naming the line', (_name, text, line, problem) => {
    let error: unknown
    try {
      parseAnnotations(text)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(AnnotationSyntaxError)
    expect((error as AnnotationSyntaxError).line).toBe(line)
    expect((error as Error).message).toMatch(new RegExp(`^line ${line} "`))
    expect((error as Error).message).toMatch(problem)
  })
})

describe('platforms', () => {
  test.each([
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    ['linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    [' Linux/ARM64 ', { os: 'linux', architecture: 'arm64' }],
    ['linux', undefined],
    ['linux/arm/v7/x', undefined],
    ['linux//arm', undefined]
  ])('parsePlatform(%j)', (text, expected) => {
    expect(parsePlatform(text)).toEqual(expected)
  })

  test('a spec without a variant matches any variant; with one, only that', () => {
    expect(matchesPlatform({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true)
    expect(matchesPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(
      false
    )
    expect(matchesPlatform({ os: 'linux', architecture: 'amd64' }, undefined)).toBe(false)
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('linux/arm/v7')
    expect(formatPlatform(undefined)).toBe('unknown')
  })
})
