/**
 * The layer's tar, written into one reused buffer and handed on a chunk at a time: each entry's header
 * (tar-header.ts) and its body, read straight from disk into the buffer (held contents are copied in). A small
 * body is read with one synchronous call; a large one in buffer-sized pieces, so memory stays bounded whatever a
 * file's size. For a tree of many small files this is what sets the pace: no stream, promise or buffer per entry,
 * and no trip through libuv's thread pool (busy with zlib) per read. A file that changes size while it is read, or
 * after its size was listed, fails the build naming it, rather than writing a tar whose header lies.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { InvalidEntryError } from './errors.ts';
import type { TarRecord } from './layer-entries.ts';
import { type TarHeaderFields, writeTarHeader } from './tar-header.ts';

/** Bytes per chunk of the tar (a multiple of 512, so that entries stay aligned within a chunk). */
export const TAR_CHUNK = 512 * 1024;
/** A large body's first piece is at least this long (or the whole body): what `onFile` sees of its head. */
export const FIRST_PIECE = 64 * 1024;

/**
 * Told about each piece of a body as it is written: the first piece, possibly the last, in order. A piece is valid
 * only during the call.
 */
export type BodyWatcher = (piece: Buffer, first: boolean, last: boolean) => void;

function readError(r: TarRecord, what: string): InvalidEntryError {
  return new InvalidEntryError(r.name, `cannot read ${r.source}: ${what}`);
}

/** A body open for reading: its size, and its bytes copied or read into a buffer a piece at a time. */
interface OpenBody {
  size: number;
  /** Put `length` bytes from `offset` of the body at `target[at]`; `last`: the body's last piece. */
  read(target: Buffer, at: number, offset: number, length: number, last: boolean): void;
  close(): void;
}

const noop = () => {};

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

  open(r: TarRecord): OpenBody {
    if (r.source === undefined) {
      const content =
        typeof r.content === 'string' ? Buffer.from(r.content, 'utf8') : (r.content ?? Buffer.alloc(0));
      return {
        size: content.byteLength,
        read: (target, at, offset, length) => void content.copy(target, at, offset, offset + length),
        close: noop,
      };
    }
    const source = r.source;
    const slice = r.size !== undefined;
    let fd: number | undefined;
    try {
      fd = slice ? (this.shared.get(source) ?? openSync(source, 'r')) : openSync(source, 'r');
      if (slice) this.shared.set(source, fd);
      // A whole file listed by a walk has the size the walk saw; the read checks it still has (no stat per file).
      const listed = !slice && r.listedSize !== undefined;
      const size = slice ? r.size! : listed ? r.listedSize! : fstatSync(fd).size;
      const start = r.offset ?? 0;
      const file = fd;
      return {
        size,
        read: (target, at, offset, length, last) =>
          readExact(r, file, target, at, start + offset, length, last && listed),
        close: slice ? noop : () => closeSync(file),
      };
    } catch (cause) {
      if (!slice && fd !== undefined) closeSync(fd);
      throw readError(r, (cause as Error).message);
    }
  }

  close(): void {
    for (const fd of this.shared.values()) closeSync(fd);
    this.shared.clear();
  }
}

/**
 * Read `length` bytes at `position` into `target[at]`. With `probe`, also make sure the file ends there: the read
 * asks for one byte more (into the room after the body, which the tar's padding overwrites) and fails if it comes.
 */
function readExact(
  r: TarRecord,
  fd: number,
  target: Buffer,
  at: number,
  position: number,
  length: number,
  probe: boolean,
): void {
  const extra = probe && at + length < target.byteLength ? 1 : 0;
  let got = 0;
  while (got < length) {
    let n: number;
    try {
      n = readSync(fd, target, at + got, length + extra - got, position + got);
    } catch (cause) {
      throw readError(r, (cause as Error).message);
    }
    if (n === 0) throw readError(r, 'it became shorter while it was read (was it changed during the build?)');
    got += n;
  }
  if (probe && (got > length || (!extra && readSync(fd, Buffer.allocUnsafe(1), 0, 1, position + length) > 0)))
    throw readError(r, 'it grew after it was listed (was it changed during the build?)');
}

/**
 * The tar of `records` (with the end marker) in chunks of up to `TAR_CHUNK` bytes. One buffer is reused: a chunk
 * is valid only until the next one is pulled. `fields` gives each record's header for its body's size; `watch`
 * may return a watcher for a record's body.
 */
export function* tarChunks(
  records: readonly TarRecord[],
  bodies: Bodies,
  fields: (r: TarRecord, size: number) => TarHeaderFields,
  watch?: (r: TarRecord) => BodyWatcher | undefined,
  stopped?: () => void,
): Generator<Buffer, void, undefined> {
  const out = Buffer.allocUnsafe(TAR_CHUNK);
  let pos = 0;
  try {
    for (const r of records) {
      stopped?.();
      const body = r.type === 'file' ? bodies.open(r) : undefined;
      try {
        if (TAR_CHUNK - pos < 512) {
          yield out.subarray(0, pos);
          pos = 0;
        }
        const header = writeTarHeader(out, pos, fields(r, body?.size ?? 0));
        if (header === 512) pos += 512;
        else {
          for (let done = 0; done < header.byteLength; ) {
            if (pos === TAR_CHUNK) {
              yield out;
              pos = 0;
            }
            const n = header.copy(out, pos, done, Math.min(header.byteLength, done + TAR_CHUNK - pos));
            pos += n;
            done += n;
          }
        }
        if (!body) continue;
        const size = body.size;
        const padded = Math.ceil(size / 512) * 512;
        const see = watch?.(r);
        if (padded > TAR_CHUNK - pos && (padded <= TAR_CHUNK || TAR_CHUNK - pos < FIRST_PIECE)) {
          yield out.subarray(0, pos);
          pos = 0;
        }
        for (let done = 0, first = true; first || done < size; first = false) {
          if (pos === TAR_CHUNK) {
            yield out;
            pos = 0;
          }
          const n = Math.min(size - done, TAR_CHUNK - pos);
          const last = done + n === size;
          body.read(out, pos, done, n, last);
          see?.(out.subarray(pos, pos + n), first, last);
          pos += n;
          done += n;
        }
        // `pos` is now `size` past a 512-byte boundary of the chunk: the padding ends at or before its end.
        const pad = padded - size;
        out.fill(0, pos, pos + pad);
        pos += pad;
      } finally {
        body?.close();
      }
    }
    if (TAR_CHUNK - pos < 1024) {
      yield out.subarray(0, pos);
      pos = 0;
    }
    out.fill(0, pos, pos + 1024);
    yield out.subarray(0, pos + 1024);
  } finally {
    bodies.close();
  }
}
