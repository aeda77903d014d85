/**
 * `layerFromEntries`: a deterministic tar compressed with gzip (Node zlib), with both
 * digests computed while streaming ONCE; the compressed bytes are kept so they are never recompressed.
 * gzip is pigz-style: 512 KiB blocks compressed on several threads into one member (parallel-gzip.ts); the bytes
 * depend only on the entries and the level, never on the number of cores.
 * The tar is written into a reused buffer, headers and bodies read straight into it (tar-body.ts, tar-header.ts:
 * the bytes tar-stream writes): memory does not grow with the files, and a small file costs an open, a read and a
 * close.
 */

import { Readable } from 'node:stream';
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
import { Bodies, type BodyWatcher, tarChunks } from './tar-body.ts';
import type { TarHeaderFields } from './tar-header.ts';

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

/** The entry's own time clamped to `[0, epoch]` (`import --normalize`), or the layer's time; in seconds. */
function mtimeOf(r: TarRecord, epoch: Date): number {
  if (r.mtime === undefined) return (epoch.getTime() / 1000) | 0;
  const clamped = Math.max(0, Math.min(r.mtime * 1000, epoch.getTime()));
  return (clamped / 1000) | 0;
}

/** The tar header fields of record `r` in a layer of time `epoch` (exported for the tar writer's test). */
export function tarHeaderOf(r: TarRecord, epoch: Date, size: number): TarHeaderFields {
  return {
    name: r.name,
    type: r.type,
    mode: r.mode,
    uid: r.uid,
    gid: r.gid,
    mtime: mtimeOf(r, epoch),
    size,
    linkname: r.linkname ?? '',
    devmajor: r.devmajor ?? 0,
    devminor: r.devminor ?? 0,
    pax: r.xattrs
      ? Object.fromEntries(
          Object.keys(r.xattrs)
            .sort()
            .map((k) => [`SCHILY.xattr.${k}`, r.xattrs![k]!]),
        )
      : undefined,
  };
}

/** The tar's size: headers, bodies padded to 512 bytes, the end marker (PAX records not counted). */
function tarSizeOf(records: TarRecord[], bodies: Bodies): number {
  let n = 1024;
  for (const r of records) n += 512 + (r.type === 'file' ? Math.ceil(bodies.sizeOf(r) / 512) * 512 : 0);
  return n;
}

/**
 * A watcher for each body the layer adds (a regular file, not a whiteout): `onFile` told its path and first
 * piece, and with `files` its digests listed, in tar order (a whole body hashed at once, a large one piece by piece).
 */
function watcher(
  files: LayerFile[] | undefined,
  onFile: LayerOptions['onFile'],
): ((r: TarRecord) => BodyWatcher | undefined) | undefined {
  if (!files && !onFile) return undefined;
  return (r) => {
    if (!isAddedFile(r.type, r.name)) return undefined;
    let hasher: FileHasher | undefined;
    let file: LayerFile | undefined;
    return (piece, first, last) => {
      if (first) onFile?.(r.name, piece);
      if (!files) return;
      if (first && last) {
        const d = FileHasher.of(piece);
        files.push({ path: r.name, size: d.size, sha256: d.sha256, sha1: d.sha1 });
        return;
      }
      if (first) {
        hasher = new FileHasher();
        file = { path: r.name, size: 0, sha256: '', sha1: '' };
        files.push(file);
      }
      hasher!.update(piece);
      if (last) Object.assign(file!, hasher!.digest());
    };
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
  const diff = new Hasher();
  const comp = new Hasher();
  const spool = new Spool(opts.spoolThreshold);
  const bodies = new Bodies();
  const files: LayerFile[] | undefined = opts.fileDigests ? [] : undefined;
  const report = opts.onProgress;
  const signal = opts.signal;
  throwIfAborted(signal, 'packing a layer');
  const total = report ? tarSizeOf(records, bodies) : 0;
  const chunks = tarChunks(
    records,
    bodies,
    (r, size) => tarHeaderOf(r, mtime, size),
    watcher(files, opts.onFile),
    signal ? () => throwIfAborted(signal, 'packing a layer') : undefined,
  );
  const tar = (function* () {
    for (const chunk of chunks) {
      diff.update(chunk);
      report?.(diff.size, Math.max(total, diff.size));
      yield chunk;
    }
  })();
  const gzipOptions: ParallelGzipOptions = { level };
  if (opts.gzipConcurrency !== undefined) gzipOptions.concurrency = opts.gzipConcurrency;
  try {
    for await (const piece of parallelGzip(tar, gzipOptions)) {
      comp.update(piece);
      await spool.write(piece);
      throwIfAborted(signal, 'packing a layer');
    }
    await spool.close();
  } catch (err) {
    chunks.return();
    await spool.close().catch(() => {});
    throw asAborted(err, signal, 'packing a layer');
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
