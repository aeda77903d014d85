/**
 * gzip on several threads, the way pigz does it (madler/pigz, "pigz.c" comments): ONE gzip member whose deflate
 * stream is cut into 512 KiB blocks of input (pigz's default is 128 KiB: see GZIP_BLOCK_SIZE). Each block is
 * raw-deflated on its own (libuv's thread pool, several blocks in flight) with the previous 32 KiB of input as its
 * preset dictionary, so matches reach back across the cut as in a single stream. Every block but the last ends with
 * a sync flush (an empty stored block: byte-aligned, not final), so the pieces concatenate into one valid deflate
 * stream; the last block ends it. This thread keeps the CRC-32 and length of the input for the trailer.
 *
 * The output depends only on the input and the level — never on timing, the thread count or how the input arrives:
 * the block size is fixed and each block's bytes are a pure function of (dictionary, block, level, last).
 * It is within about 0.1 % of a single stream's size, and every gzip reader reads it (it is one ordinary member).
 */
import { availableParallelism } from 'node:os';
import { constants, crc32, DeflateRaw, deflateRawSync, type ZlibOptions } from 'node:zlib';

/** A block's deflated bytes; `release()` once they are no longer read lets its output buffer serve another block. */
interface Deflated {
  bytes: Buffer;
  release(): void;
}

/**
 * `release` of bytes that own no pooled buffer. One function for all, defined here: a closure made inside
 * `parallelGzip`'s `start` would hold that call's scope, and with it the block before (`owner`), whose result holds
 * the one before it: every block's output would stay reachable to the end (a 170 MB import on one CPU held 60 MB).
 */
const keepNothing = (): void => {};

/**
 * What a zlib stream writes its output into: fields of Node's zlib.js (`ZlibBase`), not a public API. Given a
 * buffer of ours there, it writes into it. Probed once (`canGiveOutput`), and a block that comes back any other
 * way than whole in our buffer turns the reuse off and is deflated again the plain way: the bytes never depend on it.
 */
interface ZlibOutput {
  _outBuffer: unknown;
  _outOffset: unknown;
  _chunkSize: unknown;
}

/**
 * Output buffers of finished blocks, given back once their bytes were used (see `parallelGzip`): a fresh output
 * buffer per block cost a page fault per 4 KiB zlib wrote into it (~6,000 faults in a 170 MB import, ~6 % of its
 * time) and, freed only by the garbage collector, ~35 MB of peak RSS. At most `OUTPUT_POOL_MAX` are kept.
 */
const outputPool: Buffer[] = [];
const OUTPUT_POOL_MAX = 64;
/** zlib's smallest output buffer: what a stream is made with when it is given one of ours. */
const MIN_CHUNK = 64;
/** Whether this Node's zlib streams take an output buffer of ours (probed once; if not, each makes its own). */
let ownOutput: boolean | undefined;

function canGiveOutput(): boolean {
  if (ownOutput === undefined) {
    const probe = new DeflateRaw({ chunkSize: MIN_CHUNK }) as unknown as ZlibOutput & DeflateRaw;
    ownOutput = Buffer.isBuffer(probe._outBuffer) && probe._outOffset === 0 && probe._chunkSize === MIN_CHUNK;
    probe.close();
  }
  return ownOutput;
}

/**
 * One block deflated in the thread pool, in one trip: `zlib.deflateRaw(buf)` writes the block with no flush (one
 * trip), then flushes in a second trip, and joins the two pieces of output into a new buffer. Here the write itself
 * carries the block's flush (`flush` = `finishFlush`, see `blockOptions`), so it gives every byte at once; the
 * stream's own final flush would add nothing (zlib writes nothing for a second flush without input) and is skipped.
 * The bytes are the same: deflate decides its blocks from the input alone, and the flush only ends the last one.
 * zlib writes into a buffer from `outputPool` (when this Node's zlib takes one): `release()` gives it back.
 */
function deflateRawAsync(block: Buffer, options: ZlibOptions & { chunkSize: number }): Promise<Deflated> {
  return new Promise((resolve, reject) => {
    // Only a one-trip block takes a buffer of ours; one deflated again with the format's buffer (nearBufferEnd)
    // fills several of zlib's own, as the format does.
    const give = options.chunkSize === BLOCK_OUT_SIZE && canGiveOutput();
    const engine = new DeflateRaw(give ? { ...options, chunkSize: MIN_CHUNK } : options);
    let ours: Buffer | undefined;
    if (give) {
      ours = outputPool.pop() ?? Buffer.allocUnsafeSlow(BLOCK_OUT_SIZE);
      const out = engine as unknown as ZlibOutput;
      out._outBuffer = ours;
      out._outOffset = 0;
      out._chunkSize = options.chunkSize;
    }
    (engine as unknown as { _flush(cb: () => void): void })._flush = (cb) => cb();
    const parts: Buffer[] = [];
    let size = 0;
    engine.on('data', (piece: Buffer) => {
      parts.push(piece);
      size += piece.byteLength;
    });
    engine.on('error', reject);
    engine.on('end', () => {
      engine.close();
      if (!give) {
        resolve({ bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts, size), release: keepNothing });
        return;
      }
      const back = () => {
        if (ours && outputPool.length < OUTPUT_POOL_MAX) outputPool.push(ours);
        ours = undefined;
      };
      if (parts.length === 1 && parts[0]!.buffer === ours!.buffer) {
        resolve({ bytes: parts[0]!, release: back });
        return;
      }
      // A block's output always fits our buffer (deflate's bound for 512 KiB is under 520 KiB), so zlib did not
      // write it as told: its bytes may not be the format's (see FORMAT_OUT_SIZE). Stop giving buffers, do it again.
      back();
      ownOutput = false;
      deflateRawAsync(block, options).then(resolve, reject);
    });
    engine.end(block);
  });
}

/**
 * Input bytes per deflate block. Fixed: changing it changes the output bytes. pigz's default is 128 KiB, but each
 * block also hashes its 32 KiB dictionary into zlib's tables before it compresses, and every block is a zlib stream
 * made and set up by this thread: with 128 KiB blocks that priming was a quarter more input to hash, and the
 * per-block work was most of what this thread spent on gzip. 512 KiB blocks took an import of a 170 MB rootfs to
 * 0.91x the time and CPU, and a build of 25,000 small files to 0.96x (alternating pairs); the output is within
 * 0.05 % of the 128 KiB one's size. With two in flight per CPU, every core still works on a layer of a few MB.
 */
export const GZIP_BLOCK_SIZE = 512 * 1024;
/**
 * The most blocks in flight by default, whatever the number of CPUs: each holds its 512 KiB of input and an output
 * buffer of about as much, so 64 of them are ~66 MB (what four 128 KiB blocks per CPU held on 64 CPUs), and a
 * machine with hundreds of CPUs does not hold hundreds of MB for one layer.
 */
export const MAX_IN_FLIGHT = 64;
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
   * Blocks in flight (default: two per CPU, as pigz keeps two input buffers per thread (its `INBUFS`), so the
   * pool's threads keep compressing while this one tars, hashes and stores; at most `MAX_IN_FLIGHT`; the pool's
   * size bounds how many run at once); with 1, or on one CPU, blocks are deflated one at a time in this thread.
   * Never changes the output.
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

/** Whether `head` starts with gzip's magic bytes (1f 8b). */
export function isGzipMagic(head: Uint8Array): boolean {
  return head[0] === 0x1f && head[1] === 0x8b;
}

/** The 8-byte gzip trailer: CRC-32 and the input length modulo 2^32, little-endian. */
function gzipTrailer(crc: number, length: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(crc >>> 0, 0);
  out.writeUInt32LE(length % 2 ** 32, 4);
  return out;
}

/**
 * zlib's output buffer for one block: larger than any block's output (deflate's bound for 512 KiB is about 512.2 KiB),
 * so a block comes back from the thread pool in one trip instead of one trip per 16 KiB.
 */
const BLOCK_OUT_SIZE = 520 * 1024;
/** zlib's default output buffer, which fixed the format (below). */
const FORMAT_OUT_SIZE = 16 * 1024;

/** zlib's options for one block: its dictionary (the previous block's tail), the level, and how it ends. */
function blockOptions(
  dictionary: Buffer | undefined,
  level: number,
  last: boolean,
  chunkSize = BLOCK_OUT_SIZE,
): ZlibOptions & { chunkSize: number } {
  const flush = last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH;
  return { level, ...(dictionary ? { dictionary } : {}), flush, finishFlush: flush, chunkSize };
}

/**
 * Whether a block compressed with the large buffer may differ from the format's bytes. The format is what zlib
 * writes with its default 16 KiB output buffer: when a sync flush's last bytes (its empty stored block, 5 or 6
 * bytes) reach the end of a 16 KiB buffer, zlib is called again and writes one more empty stored block. So a
 * non-final block whose output ends within 16 bytes past a multiple of 16 KiB (about one block in a thousand) is
 * compressed again as the format does it; every other block's bytes are the same with either buffer (tested).
 */
function nearBufferEnd(out: Buffer, last: boolean): boolean {
  return !last && out.byteLength % FORMAT_OUT_SIZE < 16;
}

/** A block handed to zlib: its buffer is free again once it and the next block (its tail is that one's dictionary) are compressed. */
interface Started {
  out: Promise<Deflated>;
  block: Buffer;
  compressed: boolean;
  dictionaryTaken: boolean;
}

/**
 * Compress `source` into one gzip member, `concurrency` blocks at a time, yielded in order (header first,
 * trailer last). An empty input gives the same 20 bytes as `gzip -n </dev/null`, with OS Unix. Each piece of
 * `source` is copied into the blocks before the next one is asked for: from then on its memory is the source's.
 * Likewise each piece yielded is valid only until the next one is asked for: its memory then takes another block's
 * output. A consumer that keeps pieces keeps copies.
 *
 * With one CPU (or `concurrency` 1) each block is deflated in this thread as it is cut: the same bytes, without
 * a trip through the thread pool per block. Block buffers are reused once they are no longer read (their block
 * and the next, whose dictionary they hold, are compressed), so the input is not copied into fresh memory block
 * after block.
 */
export async function* parallelGzip(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ParallelGzipOptions = {},
): AsyncGenerator<Buffer> {
  const level = options.level ?? DEFAULT_GZIP_LEVEL;
  checkGzipLevel(level);
  const cpus = availableParallelism();
  const concurrency = Math.max(1, options.concurrency ?? Math.min(2 * cpus, MAX_IN_FLIGHT));
  const inThread = Math.min(concurrency, cpus) <= 1;
  const inFlight: Started[] = [];
  const free: Buffer[] = [];
  // The block whose tail is the next block's dictionary: its buffer is reused only once that block has started.
  let previous: Started | undefined;
  const reuse = (b: Started) => {
    if (b.compressed && b.dictionaryTaken) free.push(b.block);
  };
  const start = (block: Buffer, dictionary: Buffer | undefined, last: boolean) => {
    let out: Promise<Deflated>;
    if (inThread) {
      try {
        // In this thread the small buffer costs no trips: the format's own way, in one go.
        const bytes = deflateRawSync(block, blockOptions(dictionary, level, last, FORMAT_OUT_SIZE));
        out = Promise.resolve({ bytes, release: keepNothing });
      } catch (err) {
        out = Promise.reject(err);
      }
    } else {
      out = deflateRawAsync(block, blockOptions(dictionary, level, last)).then((first) => {
        if (!nearBufferEnd(first.bytes, last)) return first;
        first.release();
        return deflateRawAsync(block, blockOptions(dictionary, level, last, FORMAT_OUT_SIZE));
      });
    }
    // Avoid an unhandled rejection while earlier blocks are still awaited; the error surfaces in order.
    out.catch(() => {});
    const started: Started = { out, block, compressed: false, dictionaryTaken: false };
    inFlight.push(started);
    // The dictionary (the previous block's tail) is free once this block is compressed: a block compressed
    // again (nearBufferEnd) reads it again.
    const owner = previous;
    if (owner)
      out.then(
        () => {
          owner.dictionaryTaken = true;
          reuse(owner);
        },
        () => {},
      );
    previous = started;
  };
  let crc = 0;
  let length = 0;
  // A full block is started once more input has arrived (or the input ended): only then is it known to be the last.
  let pending: Buffer | undefined;
  let dictionary: Buffer | undefined;
  let block: Buffer = Buffer.allocUnsafe(GZIP_BLOCK_SIZE);
  let filled = 0;
  // The header goes out with the first block, so the source is read from the first call on (a source that has
  // already failed is then seen failing, not left with its error unobserved).
  let header: Buffer | undefined = gzipHeader(level);
  const next = async (): Promise<Deflated> => {
    const done = inFlight.shift()!;
    const out = await done.out;
    done.compressed = true;
    reuse(done);
    if (!header) return out;
    const first = Buffer.concat([header, out.bytes]);
    out.release();
    header = undefined;
    return { bytes: first, release: keepNothing };
  };
  try {
    for await (const part of source) {
      // Node's crc32 of a view on a zero-length ArrayBuffer (an empty file's body, tar-stream's empty padding)
      // returns 0, not the running value: zlib sees a null pointer, which asks for the initial CRC.
      if (part.byteLength === 0) continue;
      crc = crc32(part, crc);
      length += part.byteLength;
      for (let offset = 0; offset < part.byteLength; ) {
        if (pending) {
          start(pending, dictionary, false);
          dictionary = pending.subarray(GZIP_BLOCK_SIZE - DICTIONARY_SIZE);
          pending = undefined;
          while (inFlight.length >= concurrency) {
            const piece = await next();
            yield piece.bytes;
            piece.release();
          }
        }
        const n = Math.min(GZIP_BLOCK_SIZE - filled, part.byteLength - offset);
        block.set(part.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === GZIP_BLOCK_SIZE) {
          pending = block;
          block = free.pop() ?? Buffer.allocUnsafe(GZIP_BLOCK_SIZE);
          filled = 0;
        }
      }
    }
    start(pending ?? block.subarray(0, filled), dictionary, true);
    while (inFlight.length > 0) {
      const piece = await next();
      yield piece.bytes;
      piece.release();
    }
    yield gzipTrailer(crc, length);
  } finally {
    // On early exit (an error downstream), let in-flight work finish unobserved.
    inFlight.length = 0;
  }
}
