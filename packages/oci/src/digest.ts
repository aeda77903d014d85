/**
 * Digests. The ONE place sha256 is computed in scratchpack: `sha256(bytes)` for buffers and
 * `HashingStream` (a counting, hashing passthrough) for streams.
 */
import { createHash, type Hash, hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError, InvalidDigestError, SizeMismatchError } from './errors.ts';

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** A validated `sha256:<hex>` content digest. Immutable; compare with `equals`. */
export class Digest {
  readonly algorithm = 'sha256' as const;
  private constructor(readonly hex: string) {}

  /** Parse and validate `sha256:<64 lowercase hex>`; throws `InvalidDigestError` (OCI_INVALID_DIGEST). */
  static parse(s: string): Digest {
    if (typeof s !== 'string' || !DIGEST_RE.test(s)) throw new InvalidDigestError(String(s));
    return new Digest(s.slice(7));
  }

  /** True when `s` is a valid digest string. */
  static isValid(s: string): boolean {
    return typeof s === 'string' && DIGEST_RE.test(s);
  }

  /** A digest from an already-computed hex string (validated). */
  static fromHex(hex: string): Digest {
    return Digest.parse(`sha256:${hex}`);
  }

  toString(): string {
    return `sha256:${this.hex}`;
  }

  toJSON(): string {
    return this.toString();
  }

  equals(other: Digest | string): boolean {
    return this.toString() === (typeof other === 'string' ? other : other.toString());
  }
}

/** sha256 of a whole buffer. */
export function sha256(bytes: Uint8Array | string): Digest {
  return Digest.fromHex(createHash('sha256').update(bytes).digest('hex'));
}

/** An incremental sha256 that also counts bytes. */
export class Hasher {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private result: Digest | undefined;

  update(chunk: Uint8Array): void {
    if (this.result) throw new Error('Hasher.update after digest()');
    this.hash.update(chunk);
    this.count += chunk.byteLength;
  }

  get size(): number {
    return this.count;
  }

  digest(): Digest {
    this.result ??= Digest.fromHex(this.hash.digest('hex'));
    return this.result;
  }
}

/**
 * A passthrough that hashes and counts every byte flowing through it. After `finish`/`end`,
 * `digest()` and `size` describe exactly the bytes that passed.
 */
export class HashingStream extends Transform {
  private readonly hasher = new Hasher();

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hasher.update(chunk);
    cb(null, chunk);
  }

  get size(): number {
    return this.hasher.size;
  }

  digest(): Digest {
    return this.hasher.digest();
  }
}

/** A file's sha256 and sha1 (hex) and size, as SBOMs list files (SPDX 2.3 requires SHA1). */
export interface FileDigests {
  size: number;
  sha256: string;
  sha1: string;
}

/** sha256 and sha1 of a file's bytes: at once for a whole body, or chunk by chunk (`update`, then `digest`). */
export class FileHasher {
  private sha256: Hash | undefined;
  private sha1: Hash | undefined;
  private size = 0;

  /** Both digests of one whole buffer (one-shot hashing: no hash objects for a small file). */
  static of(bytes: Uint8Array): FileDigests {
    return { size: bytes.byteLength, sha256: hash('sha256', bytes, 'hex'), sha1: hash('sha1', bytes, 'hex') };
  }

  update(chunk: Uint8Array): void {
    this.sha256 ??= createHash('sha256');
    this.sha1 ??= createHash('sha1');
    this.sha256.update(chunk);
    this.sha1.update(chunk);
    this.size += chunk.byteLength;
  }

  digest(): FileDigests {
    this.sha256 ??= createHash('sha256');
    this.sha1 ??= createHash('sha1');
    return { size: this.size, sha256: this.sha256.digest('hex'), sha1: this.sha1.digest('hex') };
  }
}

/** Consume a stream and return its digest and size. */
export async function digestStream(stream: Readable): Promise<{ digest: Digest; size: number }> {
  const h = new Hasher();
  for await (const chunk of stream) h.update(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return { digest: h.digest(), size: h.size };
}

/**
 * A passthrough that lets a blob's bytes through only as they match `digest` and `size`: more bytes than `size`
 * fail at once, and the end of the stream fails with `SizeMismatchError` or `DigestMismatchError` (naming
 * `what`) unless every byte was the blob's. A consumer that unpacks or uploads through it sees the error
 * before it can call the result complete.
 */
export class VerifyingStream extends Transform {
  private readonly hasher = new Hasher();
  constructor(
    readonly expected: Digest | string,
    readonly expectedSize: number,
    readonly what: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hasher.update(chunk);
    if (this.hasher.size > this.expectedSize)
      cb(new SizeMismatchError(this.what, this.expectedSize, this.hasher.size));
    else cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.hasher.size !== this.expectedSize) {
      cb(new SizeMismatchError(this.what, this.expectedSize, this.hasher.size));
      return;
    }
    const actual = this.hasher.digest();
    if (!actual.equals(this.expected)) {
      cb(new DigestMismatchError(this.what, this.expected.toString(), actual.toString()));
      return;
    }
    cb();
  }
}

/** `source` read through a `VerifyingStream`: errors from either end reach the consumer. */
export function verifiedStream(
  source: Readable,
  digest: Digest | string,
  size: number,
  what: string,
): Readable {
  const v = new VerifyingStream(digest, size, what);
  source.on('error', (e) => v.destroy(e));
  v.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return source.pipe(v);
}
