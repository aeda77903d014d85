/**
 * Keeps the bytes of a freshly built blob exactly as produced: in memory while small, in a temp file
 * once larger than `threshold`. `open()` returns a fresh stream of the kept bytes every call.
 */
import { createReadStream, rmSync } from 'node:fs';
import { type FileHandle, mkdtemp, open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

const tempFiles = new Set<string>();
let exitHookInstalled = false;

function registerTemp(dir: string): void {
  tempFiles.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const d of tempFiles) rmSync(d, { recursive: true, force: true });
  });
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
      const dir = await mkdtemp(join(tmpdir(), 'scratchpack-layer-'));
      registerTemp(dir);
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
