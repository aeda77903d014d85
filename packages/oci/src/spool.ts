/**
 * Keeps the bytes of a freshly built blob exactly as produced: in memory while small, in a temp file
 * once larger than `threshold`. `open()` returns a fresh stream of the kept bytes every call.
 */
import { closeSync, createReadStream, mkdtempSync, openSync, write, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sweepDeadTemps, trackTemp, untrackTemp } from './temp-files.ts';

const SPOOL_DIR_RE = /^scratchpack-(?:layer|import)-(\d+)-/;
let swept = false;

/** A spool directory named after this process (removed on exit or interrupt; a dead process's ones are swept). */
async function spoolDir(): Promise<string> {
  if (!swept) {
    swept = true;
    await sweepDeadTemps(tmpdir(), SPOOL_DIR_RE);
  }
  return trackTemp(mkdtempSync(join(tmpdir(), `scratchpack-layer-${process.pid}-`)));
}

export const DEFAULT_SPOOL_THRESHOLD = 4 * 1024 * 1024;

/**
 * The file is written synchronously, a compressed block at a time: a write to the page cache takes microseconds,
 * and an asynchronous one would wait for a thread of the pool that is busy compressing the next blocks.
 */
export class Spool {
  private chunks: Buffer[] = [];
  private length = 0;
  private file: { path: string; fd: number } | undefined;
  private closed = false;

  constructor(private readonly threshold = DEFAULT_SPOOL_THRESHOLD) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.closed) throw new Error('Spool.write after close');
    this.length += chunk.byteLength;
    if (this.file) {
      writeAll(this.file.fd, chunk);
      return;
    }
    // A copy, never the chunk: parallelGzip's pieces are valid only until the next one (their memory takes the
    // next block's output), and a small one may be a slice of a much larger buffer. At most `threshold` bytes.
    this.chunks.push(Buffer.from(chunk));
    if (this.length > this.threshold) {
      const dir = await spoolDir();
      const path = join(dir, 'blob');
      this.file = { path, fd: openSync(path, 'w', 0o600) };
      for (const c of this.chunks) writeAll(this.file.fd, c);
      this.chunks = [];
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.file) closeSync(this.file.fd);
  }

  get size(): number {
    return this.length;
  }

  /** The temp file holding the bytes once closed (undefined while they are held in memory). */
  get path(): string | undefined {
    return this.closed ? this.file?.path : undefined;
  }

  /** A fresh stream of the kept bytes. Only valid after `close()`. */
  open(): Readable {
    // 1 MiB reads: the blob is copied into a layout or store once, hashed on the way; 64 KiB is 16 times the trips.
    if (this.file) return createReadStream(this.file.path, { highWaterMark: 1024 * 1024 });
    return Readable.from(this.chunks, { objectMode: false });
  }
}

/** Write all of `chunk` at the file's position (a write may take only part of it). */
export function writeAll(fd: number, chunk: Uint8Array): void {
  for (let done = 0; done < chunk.byteLength; ) done += writeSync(fd, chunk, done, chunk.byteLength - done);
}

/** Bytes gathered before one write to a `ContentSpool`'s file. */
const CONTENT_SPOOL_BUFFER = 4 * 1024 * 1024;
/** A piece this large, appended when nothing is gathered, is written at once. */
const DIRECT_WRITE = 1024 * 1024;

/**
 * An append-only temp file for file contents that must wait (e.g. an imported tar's bodies while its entries are
 * sorted). `append` returns where the bytes went; `remove()` deletes the file (also done at process exit).
 * Writes are gathered into one buffer and written synchronously: the caller is parsing on this thread anyway,
 * and a write to the page cache takes a millisecond.
 */
export class ContentSpool {
  private fd: number | undefined;
  private buf = Buffer.allocUnsafe(CONTENT_SPOOL_BUFFER);
  private filled = 0;
  private written = 0;

  private constructor(
    private readonly dir: string,
    readonly path: string,
  ) {}

  static async create(): Promise<ContentSpool> {
    const dir = trackTemp(mkdtempSync(join(tmpdir(), `scratchpack-import-${process.pid}-`)));
    const spool = new ContentSpool(dir, join(dir, 'contents'));
    spool.fd = openSync(spool.path, 'w', 0o600);
    return spool;
  }

  /** Total bytes appended so far (the offset of the next append). */
  get size(): number {
    return this.written + this.filled;
  }

  append(chunk: Uint8Array): void {
    if (this.fd === undefined) throw new Error('ContentSpool.append after close');
    if (this.filled === 0 && chunk.byteLength >= DIRECT_WRITE) {
      // Large already: written as it is, not copied into the buffer first.
      writeAll(this.fd, chunk);
      this.written += chunk.byteLength;
      return;
    }
    let offset = 0;
    while (offset < chunk.byteLength) {
      const n = Math.min(this.buf.byteLength - this.filled, chunk.byteLength - offset);
      this.buf.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.buf.byteLength) this.flush();
    }
  }

  private flush(): void {
    if (this.filled === 0) return;
    writeAll(this.fd!, this.buf.subarray(0, this.filled));
    this.written += this.filled;
    this.filled = 0;
  }

  /**
   * Append `piece` from libuv's thread pool, where the copy into the page cache then costs this thread nothing:
   * written at its own offset (`pwrite`), so several may be in flight, in any order. The caller leaves `piece`
   * untouched until the promise settles, and awaits every one before `close`. Not mixed with `append`.
   */
  appendAsync(piece: Uint8Array): Promise<void> {
    if (this.fd === undefined) return Promise.reject(new Error('ContentSpool.appendAsync after close'));
    if (this.filled !== 0) return Promise.reject(new Error('ContentSpool.appendAsync after append'));
    const fd = this.fd;
    const at = this.written;
    this.written += piece.byteLength;
    return new Promise((resolve, reject) => {
      const from = (done: number) => {
        if (done === piece.byteLength) return resolve();
        write(fd, piece, done, piece.byteLength - done, at + done, (err, n) => {
          if (err) reject(err);
          else if (n === 0) reject(new Error(`writing ${this.path}: the file took no bytes`));
          else from(done + n);
        });
      };
      from(0);
    });
  }

  /** Write what is buffered and close the file; its bytes can then be read at the offsets `size` reported. */
  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
    this.buf = Buffer.alloc(0);
  }

  /** Close and delete the file. Safe to call more than once. */
  async remove(): Promise<void> {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    this.buf = Buffer.alloc(0);
    await rm(this.dir, { recursive: true, force: true });
    untrackTemp(this.dir);
  }
}
