/**
 * Content digests (image-spec descriptor.md "Digests"): `algorithm:encoded`. We verify sha256 and
 * sha512, the two algorithms the spec registers.
 */
import { createHash, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { streamed } from './young-collections.js'

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/

export function isDigest(text: string): boolean {
  return DIGEST.test(text)
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/** The algorithm part of a digest: `sha256` of `sha256:…`. */
export function algorithmOf(digest: string): string {
  return digest.slice(0, digest.indexOf(':'))
}

/** Digest of `bytes` computed with the algorithm that `expected` names. */
export function digestWithAlgorithmOf(expected: string, bytes: Uint8Array): string {
  const algorithm = algorithmOf(expected)
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`
}

/** Thrown from a {@link VerifyingStream} when the bytes are not the ones the descriptor names. */
export class DigestMismatchError extends Error {
  constructor(
    readonly expected: { digest: string; size: number },
    readonly actual: { digest?: string; size: number }
  ) {
    super(
      actual.digest
        ? `content has digest ${actual.digest}, expected ${expected.digest}`
        : `content is longer than the ${expected.size} bytes its descriptor gives`
    )
    this.name = 'DigestMismatchError'
  }
}

/**
 * Passes bytes through while hashing and counting them; fails the stream when there are more bytes
 * than the descriptor's size, or when at the end the size or digest differ. Nothing is buffered.
 */
export class VerifyingStream extends Transform {
  /** Undefined when only the size is checked (the receiver checks the digest itself). */
  private readonly hash: Hash | undefined
  private count = 0
  private readonly onProgress: ((count: number) => void) | undefined

  constructor(
    private readonly expected: { digest: string; size: number },
    options: { digest: boolean; onProgress?: (count: number) => void } = { digest: true }
  ) {
    super()
    this.hash = options.digest ? createHash(algorithmOf(expected.digest)) : undefined
    this.onProgress = options.onProgress
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length
    streamed(chunk.length)
    this.onProgress?.(this.count)
    if (this.count > this.expected.size) {
      callback(new DigestMismatchError(this.expected, { size: this.count }))
      return
    }
    this.hash?.update(chunk)
    callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    const digest = this.hash ? `${algorithmOf(this.expected.digest)}:${this.hash.digest('hex')}` : this.expected.digest
    if (this.count !== this.expected.size || digest !== this.expected.digest) {
      callback(new DigestMismatchError(this.expected, { digest, size: this.count }))
      return
    }
    callback()
  }
}
