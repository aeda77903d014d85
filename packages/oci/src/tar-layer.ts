/**
 * `layerFromEntries`: a deterministic tar (tar-stream) compressed with gzip (Node zlib), with both
 * digests computed while streaming ONCE; the compressed bytes are kept so they are never recompressed.
 * gzip is pigz-style: 128 KiB blocks compressed on several threads into one member (parallel-gzip.ts); the bytes
 * depend only on the entries and the level, never on the number of cores.
 * File bodies are read as the tar is written, large ones streamed (tar-body.ts): memory does not grow with them.
 */

import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { asAborted, throwIfAborted } from './abort.ts';
import { type Digest, FileHasher, Hasher } from './digest.ts';
import type { Layer } from './layer.ts';
import { type LayerEntry, normalizeEntries, type TarRecord } from './layer-entries.ts';
import { isAddedFile, type LayerFile } from './layer-files.ts';
import { MediaTypes } from './media-types.ts';
import {
  checkGzipLevel,
  DEFAULT_GZIP_LEVEL,
  type ParallelGzipOptions,
  parallelGzip,
} from './parallel-gzip.ts';
import { Spool } from './spool.ts';
import { Bodies, type Body, packEntry } from './tar-body.ts';

export interface LayerOptions {
  /** Seconds since the epoch for every entry's mtime (SOURCE_DATE_EPOCH). Default 0. */
  sourceDateEpoch?: number;
  /** gzip level 0–9. Default 6 (zlib's, Go's and pigz's default). */
  compressionLevel?: number;
  /** Default `application/vnd.oci.image.layer.v1.tar+gzip`; the Docker gzip type is also fine. */
  mediaType?: string;
  /** Keep compressed bytes in memory up to this many bytes, then in a temp file. Default 4 MiB. */
  spoolThreshold?: number;
  /** gzip blocks compressed at once (default: twice the number of CPUs). Never changes the bytes. */
  gzipConcurrency?: number;
  /** Called as the tar is produced: uncompressed bytes so far, and the expected total (both grow together). */
  onProgress?: (bytes: number, total: number) => void;
  /** Stop packing (when the layer is built): the tar, gzip and spool stop and the build rejects with `AbortedError`. */
  signal?: AbortSignal | undefined;
  /**
   * Hash every regular file's body (sha256 and sha1) as it is written into the tar, for the layer's `files()`
   * (an SBOM's file entries), so that nothing reads the layer back. Default false (no hashing cost).
   */
  fileDigests?: boolean;
  /**
   * Told about each regular file the layer adds as its body is packed: its path and the body's first bytes (the
   * whole body when it is read at once, else its first chunk; valid only during the call). Spares a caller an
   * open and read of every file to look at its header (e.g. the ELF check of a build).
   */
  onFile?: (path: string, head: Buffer) => void;
}

interface Built {
  digest: Digest;
  diffId: Digest;
  size: number;
  uncompressedSize: number;
  spool: Spool;
  /** With `fileDigests`: the regular files in tar order, with their digests. */
  files: LayerFile[] | undefined;
}

/** The entry's own time clamped to `[0, epoch]` (`import --normalize`), or the layer's time. */
function mtimeOf(r: TarRecord, epoch: Date): Date {
  if (r.mtime === undefined) return epoch;
  const clamped = Math.max(0, Math.min(r.mtime * 1000, epoch.getTime()));
  return clamped === epoch.getTime() ? epoch : new Date(clamped);
}

function header(r: TarRecord, epoch: Date, size: number): tar.Header {
  const mtime = mtimeOf(r, epoch);
  const h: tar.Header = {
    name: r.name,
    type: r.type,
    mode: r.mode,
    uid: r.uid,
    gid: r.gid,
    uname: '',
    gname: '',
    mtime,
    size,
    linkname: r.linkname ?? '',
    devmajor: r.devmajor ?? 0,
    devminor: r.devminor ?? 0,
  };
  if (r.xattrs) {
    h.pax = Object.fromEntries(
      Object.keys(r.xattrs)
        .sort()
        .map((k) => [`SCHILY.xattr.${k}`, r.xattrs![k]!]),
    );
  }
  return h;
}

/** The tar's size: headers, bodies padded to 512 bytes, the end marker (PAX records not counted). */
function tarSizeOf(records: TarRecord[], bodies: Bodies): number {
  let n = 1024;
  for (const r of records) n += 512 + (r.type === 'file' ? Math.ceil(bodies.sizeOf(r) / 512) * 512 : 0);
  return n;
}

/**
 * Write `records` into the tar `pack` in order, then finalize it; bodies are read one at a time, large ones
 * streamed. With `files`, each added file's body is hashed on its way into the tar and listed there.
 */
async function feedTar(
  pack: tar.Pack,
  records: TarRecord[],
  mtime: Date,
  bodies: Bodies,
  files: LayerFile[] | undefined,
  onFile: LayerOptions['onFile'],
): Promise<void> {
  try {
    for (const r of records) {
      let body = r.type === 'file' ? bodies.open(r) : undefined;
      if (body && (files || onFile) && isAddedFile(r.type, r.name)) {
        if (onFile) body = told(r.name, body, onFile);
        if (files) body = hashed(r.name, body, files);
      }
      await packEntry(pack, header(r, mtime, body?.size ?? 0), body);
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    throw err;
  } finally {
    bodies.close();
  }
}

/** `body`, `onFile` told its path and first bytes before it is packed. */
function told(path: string, body: Body, onFile: NonNullable<LayerOptions['onFile']>): Body {
  if (body.buffer) {
    onFile(path, body.buffer);
    return body;
  }
  return tapped(
    body,
    (chunk, first) => first && onFile(path, chunk),
    (chunks) => {
      if (chunks === 0) onFile(path, Buffer.alloc(0));
    },
  );
}

/** `body` whose digests are listed in `files` (a whole body at once; a streamed one after its last chunk). */
function hashed(path: string, body: Body, files: LayerFile[]): Body {
  if (body.buffer) {
    files.push({ path, ...FileHasher.of(body.buffer) });
    return body;
  }
  const file: LayerFile = { path, size: body.size, sha256: '', sha1: '' };
  files.push(file);
  const hasher = new FileHasher();
  return tapped(
    body,
    (chunk) => hasher.update(chunk),
    () => Object.assign(file, hasher.digest()),
  );
}

/** A streamed `body` whose chunks `each` sees as they are packed, and `end` once after the last (with their count). */
function tapped(
  body: Body,
  each: (chunk: Buffer, first: boolean) => void,
  end: (chunks: number) => void,
): Body {
  const chunks = body.chunks!;
  return {
    size: body.size,
    chunks: (function* () {
      let n = 0;
      for (const chunk of chunks) {
        each(chunk, n++ === 0);
        yield chunk;
      }
      end(n);
    })(),
  };
}

/** Stream `records` as a tar through gzip, hashing both sides once, keeping the compressed bytes. */
export async function buildTarGz(records: TarRecord[], opts: LayerOptions = {}): Promise<Built> {
  const epoch = opts.sourceDateEpoch ?? 0;
  if (!Number.isInteger(epoch) || epoch < 0)
    throw new RangeError(`sourceDateEpoch must be a non-negative integer, got ${epoch}`);
  const mtime = new Date(epoch * 1000);
  const level = opts.compressionLevel ?? DEFAULT_GZIP_LEVEL;
  checkGzipLevel(level);
  const pack = tar.pack();
  // Failures reach the caller through `feed` and the gzip side; a destroyed pack must not also throw 'error'.
  pack.on('error', () => {});
  const diff = new Hasher();
  const comp = new Hasher();
  const spool = new Spool(opts.spoolThreshold);
  const bodies = new Bodies();
  const files: LayerFile[] | undefined = opts.fileDigests ? [] : undefined;
  const report = opts.onProgress;
  const total = report ? tarSizeOf(records, bodies) : 0;
  const tarChunk = report
    ? (chunk: Buffer) => {
        diff.update(chunk);
        report(diff.size, Math.max(total, diff.size));
      }
    : (chunk: Buffer) => diff.update(chunk);

  const signal = opts.signal;
  throwIfAborted(signal, 'packing a layer');
  const stop = () => pack.destroy(new Stopped('aborted'));
  signal?.addEventListener('abort', stop, { once: true });
  const feed = feedTar(pack, records, mtime, bodies, files, opts.onFile);
  const gzipOptions: ParallelGzipOptions = { level };
  if (opts.gzipConcurrency !== undefined) gzipOptions.concurrency = opts.gzipConcurrency;
  const sides = [gzipSide(pack, gzipOptions, tarChunk, comp, spool)];
  // Whichever part fails first stops the others (a blocked writer would otherwise wait for room forever).
  for (const p of [feed, ...sides]) p.catch((err: Error) => pack.destroy(err));
  const results = await Promise.allSettled([feed, ...sides]);
  signal?.removeEventListener('abort', stop);
  const reasons = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (reasons.length) {
    await spool.close().catch(() => {});
    throw asAborted(reasons.find((r) => !(r instanceof Stopped)) ?? reasons[0], signal, 'packing a layer');
  }
  return {
    digest: comp.digest(),
    diffId: diff.digest(),
    size: comp.size,
    uncompressedSize: diff.size,
    spool,
    files,
  };
}

/** A part stopped because another failed: the other's error is the one to report. */
class Stopped extends Error {}

/** The tar through `parallelGzip` (pigz-style blocks on several threads, one gzip member), hashed and kept. */
async function gzipSide(
  pack: tar.Pack,
  options: ParallelGzipOptions,
  tarChunk: (chunk: Buffer) => void,
  comp: Hasher,
  spool: Spool,
): Promise<void> {
  const tarChunks = (async function* () {
    for await (const chunk of pack as AsyncIterable<Buffer>) {
      tarChunk(chunk);
      yield chunk;
    }
  })();
  try {
    for await (const piece of parallelGzip(tarChunks, options)) {
      comp.update(piece);
      await spool.write(piece);
    }
    await spool.close();
  } catch (err) {
    pack.destroy(err as Error);
    await spool.close().catch(() => {});
    throw err;
  }
}

/** A layer from records already normalised (see `normalizeEntries`). Built lazily, once. */
export function layerFromRecords(records: TarRecord[], opts: LayerOptions = {}): Layer {
  let built: Promise<Built> | undefined;
  let done: Built | undefined;
  const get = () => {
    built ??= buildTarGz(records, opts).then((b) => {
      done = b;
      return b;
    });
    return built;
  };
  return {
    digest: async () => (await get()).digest,
    diffId: async () => (await get()).diffId,
    size: async () => (await get()).size,
    uncompressedSize: async () => (await get()).uncompressedSize,
    mediaType: () => opts.mediaType ?? MediaTypes.ociLayerGzip,
    compressed: () =>
      Readable.from(
        (async function* () {
          yield* (await get()).spool.open();
        })(),
        { objectMode: false },
      ),
    ...(opts.fileDigests ? { files: async () => (await get()).files! } : {}),
    compressedFile: () => done?.spool.path,
  };
}

/**
 * A deterministic gzip layer from entries. Entries are validated and normalised immediately
 * (throws `UnsafePathError`/`InvalidEntryError`); file contents are read and the layer built on the
 * first accessor call, once.
 */
export function layerFromEntries(entries: readonly LayerEntry[], opts: LayerOptions = {}): Layer {
  return layerFromRecords(normalizeEntries(entries), opts);
}
