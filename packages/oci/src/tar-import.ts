/**
 * Reading existing tars (plain or gzip) into layer entries — used by `import` and Dockerfile `ADD`.
 * Keeps symlinks, hardlinks, device nodes, modes, ids and xattrs; drops times (normalised later);
 * refuses absolute paths, `..`, hardlinks to entries not earlier in the archive, and non-tar input,
 * with a typed error naming the entry. File contents are held (`readTarEntries`) or, for archives of any size,
 * appended to a temp file the entries point into (`spoolTarEntries`, `importTarLayer`), or, for a plain tar read
 * from a file, left where they are: entries point into the tar itself (`file` option).
 */
import { stat } from 'node:fs/promises';
import { addAbortSignal, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { abortable, asAborted, throwIfAborted } from './abort.ts';
import { type Digest, Hasher } from './digest.ts';
import { HardlinkTargetError, InvalidTarError, OciError, UnsafePathError } from './errors.ts';
import type { Layer } from './layer.ts';
import { cleanPath, type LayerEntry, OPAQUE_MARKER, WHITEOUT_PREFIX } from './layer-entries.ts';
import { isGzipMagic } from './parallel-gzip.ts';
import { ContentSpool } from './spool.ts';
import { type LayerOptions, layerFromEntries } from './tar-layer.ts';

export interface ReadTarOptions {
  /** Where the tar came from, for error messages. */
  source?: string;
  /** `keep` (default) maps `.wh.` names to whiteout entries; `refuse` throws on them. */
  whiteouts?: 'keep' | 'refuse';
  /**
   * The path of the file the input streams, from its first byte. When the input is a plain (not compressed)
   * tar, file bodies are then not copied anywhere: entries refer to their bytes in this file, read again when
   * the layer is built. Keep the file unchanged until then.
   */
  file?: string;
  /**
   * Keep each entry's mtime (written clamped to the layer's `sourceDateEpoch`, as `import --normalize` does);
   * by default times are dropped and every entry gets `sourceDateEpoch`.
   */
  keepTimes?: boolean;
  /**
   * Regular files to hold while the tar is read (e.g. the package databases an SBOM needs), by their path without
   * `./`: they come back in `files` as the archive leaves them (a later entry at the same path wins). Files larger
   * than 64 MiB are not held. Saves reading the layer again for a few small files.
   */
  keepFiles?: (path: string) => boolean;
}

/** Files larger than this are not held for `keepFiles`. */
export const KEEP_FILE_MAX = 64 * 1024 * 1024;

/*
 * The rules every reader of an existing tar applies to each entry (`readTarEntries` through tar-stream, and
 * `TarChecker` for the tar `import` keeps as it is), so that both refuse the same entries with the same errors.
 */

/** The entry's clean path; an absolute name or one with `..` is refused. */
export function entryPath(name: string, where: string): string {
  if (name.startsWith('/'))
    throw new UnsafePathError(name, 'absolute paths are not allowed in a layer tar', where);
  return cleanPath(name, where);
}

/** The error for a whiteout where they are refused (`whiteouts: 'refuse'`). */
export const whiteoutRefused = (name: string, where: string) =>
  new UnsafePathError(name, 'whiteout entries (.wh.*) are not allowed here', where);

/** A hardlink's clean target, which must be a file earlier in the archive (`files`: their paths so far). */
export function hardlinkTarget(
  name: string,
  linkname: string | null | undefined,
  files: ReadonlySet<string>,
  where: string,
): string {
  const target = cleanPath(linkname ?? '', `${where}: hardlink ${name}`);
  if (!files.has(target)) throw new HardlinkTargetError(name, linkname ?? '', where);
  return target;
}

/** The error for an entry type no layer holds (tar-stream's name for it, `null` when it has none). */
export const unsupportedEntryType = (type: string | null | undefined, name: string) =>
  new InvalidTarError(`unsupported tar entry type ${type}`, name);

/** Read the first bytes of a stream and return them with a stream that still yields everything. */
async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = input[Symbol.asyncIterator]();
  const got: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : (r.value as Buffer);
    got.push(b);
    len += b.byteLength;
  }
  const head = Buffer.concat(got);
  const stream = Readable.from(
    (async function* () {
      if (head.byteLength) yield head;
      if (done) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
    })(),
    { objectMode: false },
  );
  return { head, stream };
}

function compressionOf(head: Buffer): 'gzip' | 'zstd' | 'bzip2' | 'xz' | undefined {
  if (isGzipMagic(head)) return 'gzip';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return undefined;
}

async function readAll(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c);
  return Buffer.concat(chunks);
}

function xattrsOf(pax: unknown): Record<string, string> | undefined {
  if (!pax || typeof pax !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pax as Record<string, string>)) {
    if (k.startsWith('SCHILY.xattr.')) out[k.slice('SCHILY.xattr.'.length)] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

/** What a file's body becomes in its entry: held bytes, or a slice of a file (a spool, or the input itself). */
type FileBody = { content: Buffer } | { source: string; offset: number; size: number };
/** A tar-stream header: `byteOffset` is where the entry's body starts in the (uncompressed) tar stream. */
type TarHeader = tar.Header & { byteOffset?: number };
type BodyReader = (body: AsyncIterable<Buffer>, header: TarHeader) => Promise<FileBody>;

const held: BodyReader = async (body) => ({ content: await readAll(body) });

/**
 * Parse a tar (optionally gzip-compressed) into entries, in archive order (later duplicates win).
 * File contents are held in memory (see `importTarLayer` for large archives).
 */
export function readTarEntries(input: Readable, opts: ReadTarOptions = {}): Promise<LayerEntry[]> {
  return parseTar(input, opts, held);
}

/**
 * Bodies of a plain tar read from a file: the entry points at the body's bytes in that file (tar-stream reports
 * where each body starts in the stream, which is the file from its first byte). The body is still read through,
 * so the input is checked and hashed as a whole; a header without an offset falls back to `fallback`.
 */
function inPlace(file: string, fallback: BodyReader): BodyReader {
  return async (body, header) => {
    const offset = header.byteOffset;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) return fallback(body, header);
    let size = 0;
    for await (const chunk of body) size += chunk.byteLength;
    if (size !== header.size)
      throw new InvalidTarError(`entry body is ${size} bytes, its header says ${header.size}`, header.name);
    return { source: file, offset, size };
  };
}

/**
 * The tar inside `input`: the input itself when it is a plain tar, or its gzip decompressed (`gzip` true).
 * Refuses empty input and the compressions not supported (zstd, bzip2, xz), naming `where`.
 */
export async function openTarInput(
  input: Readable,
  where: string,
): Promise<{ tar: Readable; gzip: boolean }> {
  const { head, stream } = await peek(input, 6);
  if (head.byteLength === 0) throw new InvalidTarError(`${where} is empty, not a tar archive`);
  const kind = compressionOf(head);
  if (kind && kind !== 'gzip')
    throw new InvalidTarError(`${where} is ${kind}-compressed; only plain and gzip tars are supported`);
  if (kind !== 'gzip') return { tar: stream, gzip: false };
  // 1 MiB of output per trip through the thread pool (16 KiB by default), where it waits behind gzip blocks.
  const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
  stream.on('error', (e) => gunzip.destroy(e));
  return { tar: stream.pipe(gunzip), gzip: true };
}

/** `body` with a copy of each chunk pushed to `into`. */
async function* copiedTo(body: AsyncIterable<Buffer>, into: Buffer[]): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    into.push(Buffer.from(chunk));
    yield chunk;
  }
}

async function parseTar(
  input: Readable,
  opts: ReadTarOptions,
  readBody: BodyReader,
  files?: Map<string, Buffer>,
): Promise<LayerEntry[]> {
  const where = opts.source ?? 'tar input';
  const { tar: source, gzip } = await openTarInput(input, where);
  if (opts.file !== undefined && !gzip) readBody = inPlace(opts.file, readBody);
  const extract = tar.extract();
  source.on('error', (e) => extract.destroy(e));
  source.pipe(extract as unknown as NodeJS.WritableStream);

  const entries = new Map<string, LayerEntry>();
  const seenFiles = new Set<string>();
  let current: string | undefined;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      current = h.name;
      const path = entryPath(h.name, where);
      const base = path.slice(path.lastIndexOf('/') + 1);
      const uid = h.uid ?? 0;
      const gid = h.gid ?? 0;
      const isFile = h.type === 'file' || h.type === 'contiguous-file';
      const held =
        files && isFile && (h.size ?? 0) <= KEEP_FILE_MAX && opts.keepFiles?.(path) ? [] : undefined;
      if (files && !held) files.delete(path);
      const stream = entry as unknown as AsyncIterable<Buffer>;
      const body =
        isFile && !base.startsWith(WHITEOUT_PREFIX)
          ? await readBody(held ? copiedTo(stream, held) : stream, h)
          : undefined;
      if (held) files!.set(path, Buffer.concat(held));
      if (!body) entry.resume();
      if (base.startsWith(WHITEOUT_PREFIX)) {
        if (opts.whiteouts === 'refuse') throw whiteoutRefused(h.name, where);
        const dir = path.slice(0, Math.max(0, path.lastIndexOf('/')));
        const e: LayerEntry =
          base === OPAQUE_MARKER
            ? { type: 'opaque', path: dir }
            : {
                type: 'whiteout',
                path: dir
                  ? `${dir}/${base.slice(WHITEOUT_PREFIX.length)}`
                  : base.slice(WHITEOUT_PREFIX.length),
              };
        entries.set(h.name, e);
        continue;
      }
      if (path === '') continue;
      const mode = h.mode & 0o7777;
      let e: LayerEntry;
      switch (h.type) {
        case 'file':
        case 'contiguous-file':
          e =
            'content' in body!
              ? { type: 'file', path, uid, gid, mode, content: body.content }
              : {
                  type: 'file',
                  path,
                  uid,
                  gid,
                  mode,
                  source: body!.source,
                  offset: body!.offset,
                  size: body!.size,
                };
          seenFiles.add(path);
          break;
        case 'directory':
          e = { type: 'dir', path, uid, gid, mode };
          break;
        case 'symlink':
          e = { type: 'symlink', path, uid, gid, target: h.linkname ?? '' };
          break;
        case 'link':
          e = {
            type: 'hardlink',
            path,
            uid,
            gid,
            target: hardlinkTarget(h.name, h.linkname, seenFiles, where),
          };
          break;
        case 'character-device':
        case 'block-device':
          e = {
            path,
            uid,
            gid,
            type: h.type === 'character-device' ? 'char-device' : 'block-device',
            mode,
            devmajor: h.devmajor,
            devminor: h.devminor,
          };
          break;
        case 'fifo':
          e = { type: 'fifo', path, uid, gid, mode };
          break;
        default:
          throw unsupportedEntryType(h.type, h.name);
      }
      const xattrs = xattrsOf(h.pax);
      if (xattrs) e.xattrs = xattrs;
      if (opts.keepTimes && h.mtime) e.mtime = Math.floor(h.mtime.getTime() / 1000);
      entries.delete(path);
      entries.set(path, e);
    }
  } catch (err) {
    extract.destroy();
    source.destroy();
    if (err instanceof OciError) throw err;
    const msg = (err as Error).message ?? String(err);
    throw new InvalidTarError(`${where} is not a valid tar: ${msg}`, current, err);
  }
  return [...entries.values()];
}

export interface ImportTarOptions extends LayerOptions, ReadTarOptions {
  /**
   * Refuse a plain (not gzip) tar that does not end with the end-of-archive marker (two zero blocks): a tar cut
   * at an entry boundary parses cleanly otherwise, and its missing entries would go unnoticed.
   */
  requireEndMarker?: boolean;
  /** Called while the input is read: bytes of the input (as given, compressed or not) so far. */
  onRead?: (bytes: number) => void;
  /**
   * Called with each chunk of a plain tar input once the import has done with it (hashed, checked and copied into
   * a gzip block): the reader may read the next chunks into its memory (`ChunkPool.give`). Only `keepTarLayer`
   * gives chunks back; chunks of a gzip input are the decompressor's and never come back.
   */
  recycle?: (chunk: Buffer) => void;
  /**
   * Abort the import: reading stops, the spooled contents are removed, and the call rejects with `AbortedError`.
   */
  signal?: AbortSignal | undefined;
}

export interface ImportedTar {
  layer: Layer;
  /** Entries of the archive (after later duplicates replaced earlier ones; the root directory not counted). */
  entries: number;
  /** sha256 of the input as given (the gzip's, for a gzip input): what the tarball file hashes to. */
  input: Digest;
  /** The files `keepFiles` selected (empty without it). */
  files: Map<string, Buffer>;
}

/**
 * Like `readTarEntries`, but file contents are appended to `spool` and the entries refer to their slices of it
 * (read when the layer is built: keep the spool until then).
 */
export function spoolTarEntries(
  input: Readable,
  spool: ContentSpool,
  opts: ReadTarOptions = {},
  files?: Map<string, Buffer>,
): Promise<LayerEntry[]> {
  return parseTar(
    input,
    opts,
    async (body) => {
      const offset = spool.size;
      for await (const chunk of body) spool.append(chunk);
      return { source: spool.path, offset, size: spool.size - offset };
    },
    files,
  );
}

/** Counts and hashes the input's bytes and keeps its last 1024 and first 2 (a tar's end marker, gzip's magic). */
async function* watched(
  input: AsyncIterable<Buffer>,
  ends: { head: Buffer; tail: Buffer; bytes: number; hash: Hasher },
  onRead?: (n: number) => void,
) {
  for await (const chunk of input) {
    ends.hash.update(chunk);
    if (ends.head.byteLength < 2) ends.head = Buffer.concat([ends.head, chunk.subarray(0, 2)]).subarray(0, 2);
    ends.tail =
      chunk.byteLength >= 1024
        ? Buffer.from(chunk.subarray(-1024))
        : Buffer.concat([ends.tail, chunk]).subarray(-1024);
    ends.bytes += chunk.byteLength;
    onRead?.(ends.bytes);
    yield chunk;
  }
}

/**
 * Import a tar (plain or gzip) as one deterministic layer — the same bytes as `readTarEntries` then
 * `layerFromEntries`, in bounded memory: entry headers are kept and sorted, file contents go to a temp file
 * (removed before this returns, also on error) and are streamed from it into the layer. The whole input is
 * read and checked before the layer is built; the layer's compressed bytes are kept as `layerFromEntries` keeps
 * them (a temp file once large).
 */
export async function importTarLayer(input: Readable, opts: ImportTarOptions = {}): Promise<ImportedTar> {
  const { signal } = opts;
  const what = `importing ${opts.source ?? 'a tar'}`;
  throwIfAborted(signal, what);
  const spool = await ContentSpool.create();
  const before = opts.file === undefined ? undefined : await fileState(opts.file);
  try {
    const ends = { head: Buffer.alloc(0), tail: Buffer.alloc(0), bytes: 0, hash: new Hasher() };
    // The input itself is destroyed on abort: that ends the read wherever it waits.
    if (signal) addAbortSignal(signal, input);
    const source = Readable.from(watched(input, ends, opts.onRead), { objectMode: false });
    const files = new Map<string, Buffer>();
    let entries: LayerEntry[] | undefined = await spoolTarEntries(source, spool, opts, files);
    throwIfAborted(signal, what);
    spool.close();
    const gzip = isGzipMagic(ends.head);
    if (opts.requireEndMarker && !gzip && !ends.tail.equals(Buffer.alloc(1024))) {
      throw new InvalidTarError(
        `${opts.source ?? 'tar input'} ends without the end-of-archive marker (two zero blocks): it is truncated`,
      );
    }
    const count = entries.length;
    const layer = layerFromEntries(entries, opts);
    entries = undefined; // the layer keeps its own (sorted) records: let these go before it is built
    await abortable(layer.digest(), signal, what); // built now, while the spool (and the input file) are there
    if (before !== undefined && before !== (await fileState(opts.file!)))
      throw new InvalidTarError(
        `${opts.source ?? opts.file} changed while it was imported; import it again once nothing writes to it`,
      );
    return { layer, entries: count, input: ends.hash.digest(), files };
  } catch (err) {
    throw asAborted(err, signal, what);
  } finally {
    await spool.remove();
  }
}

/** What identifies a file's version: its inode, size and change time. */
async function fileState(file: string): Promise<string> {
  const s = await stat(file, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** A deterministic layer from an existing tar (normalised: sorted, times fixed, parents synthesised). */
export async function layerFromTarStream(input: Readable, opts: ImportTarOptions = {}): Promise<Layer> {
  return (await importTarLayer(input, opts)).layer;
}
