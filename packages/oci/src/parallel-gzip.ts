/**
 * gzip on several threads, the way pigz does it (madler/pigz, "pigz.c" comments): ONE gzip member whose deflate
 * stream is cut into 128 KiB blocks of input. Each block is raw-deflated on its own (libuv's thread pool, several
 * blocks in flight) with the previous 32 KiB of input as its preset dictionary, so matches reach back across the
 * cut as in a single stream. Every block but the last ends with a sync flush (an empty stored block: byte-aligned,
 * not final), so the pieces concatenate into one valid deflate stream; the last block ends it. This thread keeps the
 * CRC-32 and length of the input for the trailer.
 *
 * The output depends only on the input and the level — never on timing, the thread count or how the input arrives:
 * the block size is fixed and each block's bytes are a pure function of (dictionary, block, level, last).
 * It is within about 0.1 % of a single stream's size, and every gzip reader reads it (it is one ordinary member).
 */
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw, type ZlibOptions } from 'node:zlib';
import { chunksOf } from './chunks.ts';

const deflateRawAsync = promisify<Buffer, ZlibOptions, Buffer>(deflateRaw);

/** Input bytes per deflate block (pigz's default). Fixed: changing it changes the output bytes. */
export const GZIP_BLOCK_SIZE = 128 * 1024;
/** Bytes of the previous input given as each block's dictionary: deflate's whole window. */
const DICTIONARY_SIZE = 32 * 1024;

/** The gzip OS byte we always write (3 = Unix), whatever zlib's build default is (OCI-NOTES #13). */
export const GZIP_OS_UNIX = 3;

/** The gzip level of every layer unless told otherwise: zlib's, Go's and pigz's default. */
export const DEFAULT_GZIP_LEVEL = 6;

export interface ParallelGzipOptions {
  /** gzip level 0–9 (default 6). */
  level?: number;
  /**
   * Blocks compressed at once (default: twice the number of CPUs, so a thread never waits while this one tars,
   * hashes and stores). Never changes the output.
   */
  concurrency?: number;
}

/** Throw a RangeError unless `level` is a gzip level 0–9. */
export function checkGzipLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > 9)
    throw new RangeError(`gzip level must be an integer from 0 to 9, got ${level}`);
}

/** The 10-byte gzip header: no name, MTIME 0, XFL as gzip/pigz set it for the level, OS Unix. */
export function gzipHeader(level: number): Buffer {
  const xfl = level >= 9 ? 2 : level === 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, GZIP_OS_UNIX]);
}

/** The 8-byte gzip trailer: CRC-32 and the input length modulo 2^32, little-endian. */
function gzipTrailer(crc: number, length: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(crc >>> 0, 0);
  out.writeUInt32LE(length % 2 ** 32, 4);
  return out;
}

/**
 * Compress `source` into one gzip member, `concurrency` blocks at a time, yielded in order (header first,
 * trailer last). An empty input gives the same 20 bytes as `gzip -n </dev/null`, with OS Unix.
 */
export async function* parallelGzip(
  source: AsyncIterable<Uint8Array>,
  options: ParallelGzipOptions = {},
): AsyncGenerator<Buffer> {
  const level = options.level ?? DEFAULT_GZIP_LEVEL;
  checkGzipLevel(level);
  const concurrency = Math.max(1, options.concurrency ?? 2 * availableParallelism());
  const inFlight: Promise<Buffer>[] = [];
  const start = (block: Buffer, dictionary: Buffer | undefined, last: boolean) => {
    const p = deflateRawAsync(block, {
      level,
      ...(dictionary ? { dictionary } : {}),
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    });
    // Avoid an unhandled rejection while earlier blocks are still awaited; the error surfaces in order.
    p.catch(() => {});
    inFlight.push(p);
  };
  let crc = 0;
  let length = 0;
  // A block is started once the next one has arrived (or the input ended): only then is it known to be the last.
  let pending: Buffer | undefined;
  let dictionary: Buffer | undefined;
  // The header goes out with the first block, so the source is read from the first call on (a source that has
  // already failed is then seen failing, not left with its error unobserved).
  let header: Buffer | undefined = gzipHeader(level);
  const next = async () => {
    const block = await inFlight.shift()!;
    if (!header) return block;
    const first = Buffer.concat([header, block]);
    header = undefined;
    return first;
  };
  try {
    for await (const block of chunksOf(source, GZIP_BLOCK_SIZE)) {
      crc = crc32(block, crc);
      length += block.byteLength;
      if (pending) {
        start(pending, dictionary, false);
        dictionary = pending.subarray(pending.byteLength - DICTIONARY_SIZE);
      }
      pending = block;
      while (inFlight.length >= concurrency) yield await next();
    }
    start(pending ?? Buffer.alloc(0), dictionary, true);
    while (inFlight.length > 0) yield await next();
    yield gzipTrailer(crc, length);
  } finally {
    // On early exit (an error downstream), let in-flight work finish unobserved.
    inFlight.length = 0;
  }
}
