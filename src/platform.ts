/**
 * Platforms as users write them (`linux/arm64`, `linux/arm/v7`) and as index descriptors carry
 * them (image-spec image-index.md, `platform`): parsing, matching and display.
 */
import type { Platform } from './manifest.js'

/** What a user asked for: os and architecture, and a variant when given. */
export interface PlatformSpec {
  os: string
  architecture: string
  variant?: string
}

const PART = /^[a-z0-9._-]+$/

/** Parses `os/arch[/variant]`; undefined when the text is not one. */
export function parsePlatform(text: string): PlatformSpec | undefined {
  const parts = text.trim().toLowerCase().split('/')
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => PART.test(p))) return undefined
  const [os, architecture, variant] = parts
  return { os, architecture, ...(variant ? { variant } : {}) }
}

/** `linux/arm64/v8`, `windows(10.0.20348.2113)/amd64` (containerd's form), or `unknown` for a descriptor without a platform. */
export function formatPlatform(platform: Partial<Platform> | undefined): string {
  if (!platform?.os || !platform.architecture) return 'unknown'
  const version = platform['os.version']
  const os = version ? `${platform.os}(${version})` : platform.os
  return [os, platform.architecture, platform.variant].filter(Boolean).join('/')
}

/**
 * Architectures and variants as containerd normalises them (`platforms` package, database.go):
 * `aarch64` is `arm64` and arm64's default variant `v8` is the same as none; `arm` without a
 * variant is `arm/v7`; `amd64/v1` is `amd64`; `x86_64` is `amd64`, `i386` is `386`.
 */
export function normalizePlatform(platform: Partial<Platform>): { os: string; architecture: string; variant: string } {
  const os = (platform.os ?? '').toLowerCase()
  let architecture = (platform.architecture ?? '').toLowerCase()
  let variant = (platform.variant ?? '').toLowerCase()
  switch (architecture) {
    case 'i386':
      architecture = '386'
      variant = ''
      break
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64'
      if (variant === 'v1') variant = ''
      break
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64'
      if (['8', 'v8', 'v8.0'].includes(variant)) variant = ''
      else if (['9', '9.0', 'v9.0'].includes(variant)) variant = 'v9'
      break
    case 'armhf':
      architecture = 'arm'
      variant = 'v7'
      break
    case 'armel':
      architecture = 'arm'
      variant = 'v6'
      break
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7'
      else if (['5', '6', '8'].includes(variant)) variant = `v${variant}`
      break
  }
  return { os: os === 'macos' ? 'darwin' : os, architecture, variant }
}

/**
 * Whether `platform` is what `spec` asks for, after containerd's normalisation (`linux/arm64/v8`
 * is `linux/arm64`). A spec without a variant accepts any variant of its architecture; see
 * {@link isDefaultVariant} for choosing among several.
 */
export function matchesPlatform(spec: PlatformSpec, platform: Partial<Platform> | undefined): boolean {
  if (!platform) return false
  const want = normalizePlatform(spec)
  const have = normalizePlatform(platform)
  if (have.os !== want.os || have.architecture !== want.architecture) return false
  return spec.variant === undefined || have.variant === want.variant
}

/** Whether `platform` has its architecture's default variant (`arm/v7`, `arm64/v8`, `amd64/v1`). */
export function isDefaultVariant(platform: Partial<Platform> | undefined): boolean {
  if (!platform) return false
  return normalizePlatform(platform).variant === normalizePlatform({ ...platform, variant: '' }).variant
}
