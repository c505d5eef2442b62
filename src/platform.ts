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

/** `linux/arm64/v8`, or `unknown` for a descriptor without a platform. */
export function formatPlatform(platform: Partial<Platform> | undefined): string {
  if (!platform?.os || !platform.architecture) return 'unknown'
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/')
}

/** Whether `platform` is what `spec` asks for; a spec without a variant accepts any variant. */
export function matchesPlatform(spec: PlatformSpec, platform: Partial<Platform> | undefined): boolean {
  if (!platform) return false
  if (platform.os !== spec.os || platform.architecture !== spec.architecture) return false
  return spec.variant === undefined || platform.variant === spec.variant
}
