/**
 * `keepTarLayer`: an existing tar as a layer AS IT IS — the layer's tar is the input's bytes (a gzip input's
 * decompressed bytes), so its diff_id is the sha256 `docker import` and `podman import` compute for the same tar
 * (`sha256sum rootfs.tar`), and registries and caches can share it. Only the gzip around it is ours: the
 * deterministic parallel gzip every layer gets, so the same tar always gives the same blob.
 *
 * The input is read once: each chunk is hashed, compressed (the blob is kept as `layerFromEntries` keeps it: in
 * memory while small, then in a temp file) and checked as it passes (`TarChecker`, tar-check.ts), which refuses
 * what `importTarLayer` refuses (`..`, absolute names, hardlinks to files not earlier in the archive, whiteouts
 * when told, unknown entry types, a truncated archive) naming the entry. Memory does not grow with the input.
 */
import { availableParallelism } from 'node:os';
import { addAbortSignal, Readable } from 'node:stream';
import { asAborted, throwIfAborted } from './abort.ts';
import { type Digest, Hasher } from './digest.ts';
import { InvalidTarError } from './errors.ts';
import type { Layer } from './layer.ts';
import { MediaTypes } from './media-types.ts';
import { checkGzipLevel, DEFAULT_GZIP_LEVEL, isGzipMagic, parallelGzip } from './parallel-gzip.ts';
import { Spool } from './spool.ts';
import { TarChecker } from './tar-check.ts';
import { type ImportedTar, type ImportTarOptions, openTarInput } from './tar-import.ts';

/**
 * Import a tar (plain or gzip) keeping its bytes: see the file comment. `opts.sourceDateEpoch` and `opts.file`
 * play no part (nothing is rewritten, and the input is read only once); `onProgress` reports the tar's bytes.
 */
export async function keepTarLayer(input: Readable, opts: ImportTarOptions = {}): Promise<ImportedTar> {
  const { signal } = opts;
  const where = opts.source ?? 'tar input';
  const what = `importing ${opts.source ?? 'a tar'}`;
  throwIfAborted(signal, what);
  const level = opts.compressionLevel ?? DEFAULT_GZIP_LEVEL;
  checkGzipLevel(level);
  // The input itself is destroyed on abort: that ends the read wherever it waits.
  if (signal) addAbortSignal(signal, input);
  const spool = new Spool(opts.spoolThreshold);
  try {
    const raw = { hash: new Hasher(), gzip: false };
    const { tar, gzip } = await openTarInput(counted(input, raw, opts.onRead), where);
    // Each chunk is checked as it passes, on this thread: a bad entry stops the import at that chunk.
    const checker = new TarChecker({ ...opts, file: undefined, source: where });
    const diff = new Hasher();
    let tail: Buffer = Buffer.alloc(0);
    const teed = (async function* () {
      try {
        for await (const chunk of tar as AsyncIterable<Buffer>) {
          diff.update(chunk);
          // A copy: the chunk's memory may be read into again once it has passed (opts.recycle).
          tail =
            chunk.byteLength >= 1024
              ? Buffer.from(chunk.subarray(-1024))
              : Buffer.concat([tail, chunk]).subarray(-1024);
          opts.onProgress?.(diff.size, diff.size);
          checker.push(chunk);
          yield chunk;
          // parallelGzip asks for the next piece only once it has copied this one into its blocks, and the
          // checker copies what it keeps: nothing reads this chunk any more.
          if (!gzip) opts.recycle?.(chunk);
        }
      } catch (err) {
        throw badGzip(err, where);
      }
    })();
    const comp = new Hasher();
    for await (const piece of parallelGzip(teed, { level, ...gzipConcurrency(opts, gzip) })) {
      comp.update(piece);
      await spool.write(piece);
    }
    await spool.close();
    const { entries, files } = checker.end();
    throwIfAborted(signal, what);
    if (opts.requireEndMarker && !gzip && !tail.equals(Buffer.alloc(1024)))
      throw new InvalidTarError(
        `${where} ends without the end-of-archive marker (two zero blocks): it is truncated`,
      );
    return {
      layer: keptLayer(comp.digest(), diff.digest(), comp.size, diff.size, spool, opts),
      entries,
      // A plain tar is its own input: its sha256 is the diff_id, not computed twice.
      input: gzip ? raw.hash.digest() : diff.digest(),
      files,
    };
  } catch (err) {
    await spool.close().catch(() => {});
    throw asAborted(err, signal, what);
  }
}

/**
 * `input` with `onRead` told the bytes read so far, hashed into `raw.hash` when it is gzip (magic `1f 8b`; a plain
 * tar is hashed once, as the layer's tar).
 */
function counted(
  input: Readable,
  raw: { hash: Hasher; gzip: boolean },
  onRead?: (bytes: number) => void,
): Readable {
  let n = 0;
  let head = Buffer.alloc(0);
  return Readable.from(
    (async function* () {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        if (n < 2) {
          head = Buffer.concat([head, chunk.subarray(0, 2)]);
          // Until its second byte is in, an input starting with 1f may be gzip: hashed, to be sure.
          raw.gzip = head.byteLength < 2 ? head[0] === 0x1f : isGzipMagic(head);
        }
        if (raw.gzip) raw.hash.update(chunk);
        n += chunk.byteLength;
        onRead?.(n);
        yield chunk;
      }
    })(),
    { objectMode: false },
  );
}

/** A gzip that does not decompress (zlib's `Z_…` errors) is an invalid tar; other errors stay what they are. */
function badGzip(err: unknown, where: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('Z_')) return err;
  return new InvalidTarError(`${where} is not a valid tar: ${(err as Error).message}`, undefined, err);
}

/**
 * Blocks in flight: as told, else parallelGzip's default; a gzip input's decompression takes turns with the
 * blocks in the thread pool, so fewer wait ahead of it (two per CPU).
 */
function gzipConcurrency(opts: ImportTarOptions, gzip: boolean): { concurrency?: number } {
  if (opts.gzipConcurrency !== undefined) return { concurrency: opts.gzipConcurrency };
  return gzip ? { concurrency: 2 * availableParallelism() } : {};
}

function keptLayer(
  digest: Digest,
  diffId: Digest,
  size: number,
  uncompressedSize: number,
  spool: Spool,
  opts: ImportTarOptions,
): Layer {
  return {
    digest: async () => digest,
    diffId: async () => diffId,
    size: async () => size,
    uncompressedSize: async () => uncompressedSize,
    mediaType: () => opts.mediaType ?? MediaTypes.ociLayerGzip,
    compressed: () => spool.open(),
    compressedFile: () => spool.path,
  };
}
