/**
 * Keeps the bytes of a freshly built blob exactly as produced: in memory while small, in a temp file
 * once larger than `threshold`. `open()` returns a fresh stream of the kept bytes every call.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdtemp, open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sweepDeadTemps, trackTemp } from './temp-files.ts';

const SPOOL_DIR_RE = /^scratchpack-layer-(\d+)-/;
let swept = false;

/** A spool directory named after this process (removed on exit or interrupt; a dead process's ones are swept). */
async function spoolDir(): Promise<string> {
  if (!swept) {
    swept = true;
    await sweepDeadTemps(tmpdir(), SPOOL_DIR_RE);
  }
  return trackTemp(await mkdtemp(join(tmpdir(), `scratchpack-layer-${process.pid}-`)));
}

export const DEFAULT_SPOOL_THRESHOLD = 64 * 1024 * 1024;

export class Spool {
  private chunks: Buffer[] = [];
  private length = 0;
  private file: { path: string; handle: FileHandle } | undefined;
  private closed = false;

  constructor(private readonly threshold = DEFAULT_SPOOL_THRESHOLD) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.closed) throw new Error('Spool.write after close');
    this.length += chunk.byteLength;
    if (this.file) {
      await this.file.handle.write(chunk);
      return;
    }
    // A small chunk may be a slice of a much larger buffer (zlib's output buffer): keep a copy, not the buffer.
    this.chunks.push(chunk.byteLength < chunk.buffer.byteLength / 2 ? Buffer.from(chunk) : chunk);
    if (this.length > this.threshold) {
      const dir = await spoolDir();
      const path = join(dir, 'blob');
      const handle = await openFile(path, 'w');
      this.file = { path, handle };
      for (const c of this.chunks) await handle.write(c);
      this.chunks = [];
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.file) await this.file.handle.close();
  }

  get size(): number {
    return this.length;
  }

  /** A fresh stream of the kept bytes. Only valid after `close()`. */
  open(): Readable {
    if (this.file) return createReadStream(this.file.path);
    return Readable.from(this.chunks, { objectMode: false });
  }
}
