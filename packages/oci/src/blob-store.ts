/**
 * Content-addressed blobs under `<root>/blobs/sha256/<hex>`. `writeBlob` is the ONE function that
 * writes blobs: skip when present with the right size, else temp file → verify size and digest → rename.
 */
import {
  closeSync,
  createReadStream,
  createWriteStream,
  constants as fsConstants,
  fstatSync,
  openSync,
  readFileSync,
} from 'node:fs';
import { chmod, constants, copyFile, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { asAborted, throwIfAborted } from './abort.ts';
import { writeThroughTemp } from './atomic-file.ts';
import { Digest, HashingStream } from './digest.ts';
import { BlobNotFoundError, DigestMismatchError, SizeMismatchError } from './errors.ts';

/**
 * The bytes of a blob: held, a stream (hashed as it is written, and checked), or a file this process wrote and
 * hashed itself and never changes again (`Layer.compressedFile`, a large SBOM): linked or copied by the kernel,
 * its size checked.
 */
export type BlobSource = Buffer | (() => Readable) | { file: string };

export interface WriteBlobOptions {
  /** Abort the write: the pipeline stops, the temp file is removed, and the call rejects with `AbortedError`. */
  signal?: AbortSignal | undefined;
}

export class BlobStore {
  constructor(readonly root: string) {}

  path(digest: Digest | string): string {
    const d = typeof digest === 'string' ? Digest.parse(digest) : digest;
    return join(this.root, 'blobs', d.algorithm, d.hex);
  }

  /** True when the blob exists (and has `size` bytes, when given). */
  async has(digest: Digest | string, size?: number): Promise<boolean> {
    try {
      const s = await stat(this.path(digest));
      return s.isFile() && (size === undefined || s.size === size);
    } catch {
      return false;
    }
  }

  /** A stream of the blob's bytes; throws `BlobNotFoundError` when it is absent. */
  async open(digest: Digest | string): Promise<Readable> {
    if (!(await this.has(digest))) throw new BlobNotFoundError(this.root, digest.toString());
    return createReadStream(this.path(digest));
  }

  /**
   * The blob's bytes; throws `BlobNotFoundError` when it is absent or not a regular file (as `has` says). A small
   * one (a manifest, a config, an SBOM: what is read whole) is read with synchronous calls: each trip through
   * libuv's pool costs more than the read (the 45 referrers of the hello, their manifests and blobs, took ~40 ms
   * of a push's start read through it).
   */
  async read(digest: Digest | string): Promise<Buffer> {
    const path = this.path(digest);
    try {
      const small = readSmall(path);
      if (small === 'not-a-file') throw new BlobNotFoundError(this.root, digest.toString());
      if (small) return small;
      return await readFile(path);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
        throw new BlobNotFoundError(this.root, digest.toString());
      throw cause;
    }
  }

  /** See `writeBlob`. Returns true when bytes were written, false when the blob was already there. */
  write(
    digest: Digest | string,
    size: number,
    source: BlobSource,
    options: WriteBlobOptions = {},
  ): Promise<boolean> {
    return writeBlob(
      this.path(digest),
      typeof digest === 'string' ? Digest.parse(digest) : digest,
      size,
      source,
      options,
    );
  }
}

/** Files up to this size are read whole with synchronous calls. */
const SMALL_READ = 1024 * 1024;

/**
 * `path`'s bytes if it is a regular file of at most `SMALL_READ` bytes, read synchronously; undefined for a larger
 * one; 'not-a-file' for anything else (opened without blocking: a FIFO put in a blob's place does not hang).
 */
function readSmall(path: string): Buffer | undefined | 'not-a-file' {
  const fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return 'not-a-file';
    if (st.size > SMALL_READ) return undefined;
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Put the bytes of `file`, a temp file this process wrote and will not change, at `tmp` (an empty file): a hard
 * link where the two are on one filesystem (no copy: the temp's name goes at exit, the blob's stays), else the
 * kernel's copy.
 */
async function placeFile(file: string, tmp: string): Promise<void> {
  await unlink(tmp);
  try {
    await link(file, tmp);
  } catch {
    // Another filesystem (EXDEV), or links not allowed: copy.
    await copyFile(file, tmp, constants.COPYFILE_EXCL);
  }
}

/**
 * Write one blob: skip if `path` exists with `size` bytes; otherwise stream `source` into a temp file,
 * verify size and digest (a `{ file }` source: copy it, verify its size), then rename into place. A failure
 * leaves no partial blob behind.
 */
export async function writeBlob(
  path: string,
  digest: Digest,
  size: number,
  source: BlobSource,
  options: WriteBlobOptions = {},
): Promise<boolean> {
  const { signal } = options;
  const what = `writing blob ${digest}`;
  throwIfAborted(signal, what);
  try {
    const s = await stat(path);
    if (s.isFile() && s.size === size) return false;
  } catch {
    // absent: write it
  }
  await mkdir(dirname(path), { recursive: true });
  throwIfAborted(signal, what);
  try {
    await writeThroughTemp(path, async (tmp) => {
      if (!Buffer.isBuffer(source) && typeof source !== 'function') {
        // The blob gets the mode any new file gets here (0666 less the umask), not the spool's private 0600:
        // a link or the kernel's copy has the source's mode, and other users must be able to read a shared layout.
        await (await open(tmp, 'wx')).close();
        const { mode } = await stat(tmp);
        await placeFile(source.file, tmp);
        await chmod(tmp, mode & 0o7777);
        throwIfAborted(signal, what);
        const copied = (await stat(tmp)).size;
        if (copied !== size) throw new SizeMismatchError(`blob ${digest}`, size, copied);
        return;
      }
      const hashing = new HashingStream();
      const input = Buffer.isBuffer(source) ? Readable.from([source]) : source();
      const out = createWriteStream(tmp, { flags: 'wx' });
      try {
        await (signal ? pipeline(input, hashing, out, { signal }) : pipeline(input, hashing, out));
      } catch (err) {
        // A file open still in the thread pool would create the temp after it is removed: let it close first.
        if (!out.closed) await finished(out).catch(() => {});
        throw err;
      }
      throwIfAborted(signal, what);
      if (hashing.size !== size) throw new SizeMismatchError(`blob ${digest}`, size, hashing.size);
      if (!hashing.digest().equals(digest))
        throw new DigestMismatchError(`blob ${digest}`, digest.toString(), hashing.digest().toString());
    });
  } catch (err) {
    throw asAborted(err, signal, what);
  }
  return true;
}
