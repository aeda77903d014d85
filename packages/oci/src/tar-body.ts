/**
 * File bodies for the tar writer, read when the layer is built: held contents, whole files on disk, or slices
 * of a file (an import's content spool). Small bodies are read synchronously and whole; larger ones are streamed
 * in fixed chunks with backpressure, so memory stays bounded whatever a file's size. A file that changes size
 * while it is read fails the build naming it, rather than writing a tar whose header lies.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type tar from 'tar-stream';
import { InvalidEntryError } from './errors.ts';
import type { TarRecord } from './layer-entries.ts';

/**
 * Bodies smaller than this are read synchronously and whole. An async read is several trips through libuv's
 * thread pool that queue behind zlib's work there; for a tree of many small files those trips, not the bytes,
 * set the pace, and zlib waits for input. A blocking read of a small cached file takes microseconds.
 */
export const SYNC_READ_LIMIT = 1024 * 1024;
/** Bytes per read of a streamed body. */
const CHUNK = 1024 * 1024;

export interface Body {
  size: number;
  /** The whole body (small ones), or … */
  buffer?: Buffer;
  /** … its bytes in chunks (large ones). */
  chunks?: Iterable<Buffer>;
}

function readError(r: TarRecord, what: string): InvalidEntryError {
  return new InvalidEntryError(r.name, `cannot read ${r.source}: ${what}`);
}

/** Opens bodies for one layer build; slices of one file share a descriptor until `close()`. */
export class Bodies {
  private readonly shared = new Map<string, number>();

  /** The body's size without reading it (its listed size, else a stat, for whole files). */
  sizeOf(r: TarRecord): number {
    if (r.source === undefined)
      return typeof r.content === 'string' ? Buffer.byteLength(r.content) : (r.content?.byteLength ?? 0);
    if (r.size !== undefined) return r.size;
    if (r.listedSize !== undefined) return r.listedSize;
    try {
      return statSync(r.source).size;
    } catch (cause) {
      throw readError(r, (cause as Error).message);
    }
  }

  open(r: TarRecord): Body {
    if (r.source === undefined) {
      const buffer =
        typeof r.content === 'string' ? Buffer.from(r.content, 'utf8') : (r.content ?? Buffer.alloc(0));
      return { size: buffer.byteLength, buffer };
    }
    const slice = r.size !== undefined;
    let fd: number | undefined;
    try {
      fd = slice ? (this.shared.get(r.source) ?? openSync(r.source, 'r')) : openSync(r.source, 'r');
      if (slice) this.shared.set(r.source, fd);
      const size = slice ? r.size! : fstatSync(fd).size;
      const start = r.offset ?? 0;
      if (size < SYNC_READ_LIMIT) {
        const buffer = readExact(r, fd, start, size);
        if (!slice) closeSync(fd);
        return { size, buffer };
      }
      return { size, chunks: this.stream(r, fd, start, size, !slice) };
    } catch (cause) {
      if (!slice && fd !== undefined) closeSync(fd);
      if (cause instanceof InvalidEntryError) throw cause;
      throw readError(r, (cause as Error).message);
    }
  }

  private *stream(r: TarRecord, fd: number, start: number, size: number, own: boolean): Generator<Buffer> {
    try {
      for (let done = 0; done < size; ) {
        const n = Math.min(CHUNK, size - done);
        yield readExact(r, fd, start + done, n);
        done += n;
      }
    } finally {
      if (own) closeSync(fd);
    }
  }

  close(): void {
    for (const fd of this.shared.values()) closeSync(fd);
    this.shared.clear();
  }
}

function readExact(r: TarRecord, fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw readError(r, 'it became shorter while it was read (was it changed during the build?)');
    got += n;
  }
  return buf;
}

/** Add one entry to `pack`, its body streamed with backpressure when it comes in chunks. */
export function packEntry(pack: tar.Pack, header: tar.Header, body: Body | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    // A destroyed pack (an abort, or the gzip side failing) destroys its entries with the error, which a sink
    // emits as 'error': every sink gets a listener, the error is reported through `cb`.
    const quiet = (sink: NodeJS.EventEmitter) => void sink.on('error', () => {});
    if (!body) {
      quiet(pack.entry(header, cb));
      return;
    }
    if (body.buffer) {
      quiet(pack.entry(header, body.buffer, cb));
      return;
    }
    const sink = pack.entry(header, cb);
    quiet(sink);
    (async () => {
      for (const chunk of body.chunks!) {
        if (sink.destroyed) throw new Error('tar entry destroyed');
        if (!sink.write(chunk)) {
          await new Promise<void>((r) => {
            const go = () => {
              sink.off('drain', go);
              sink.off('close', go);
              r();
            };
            sink.on('drain', go);
            sink.on('close', go);
          });
        }
      }
      (sink as unknown as { end(): void }).end();
    })().catch((err: Error) => {
      sink.destroy(err);
      reject(err);
    });
  });
}
