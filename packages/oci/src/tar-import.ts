/**
 * Reading existing tars (plain or gzip) into layer entries — used by `import` and Dockerfile `ADD`.
 * Keeps symlinks, hardlinks, device nodes, modes, ids and xattrs; drops times (normalised later);
 * refuses absolute paths, `..`, hardlinks to entries not earlier in the archive, and non-tar input,
 * with a typed error naming the entry.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { InvalidTarError, OciError, UnsafePathError } from './errors.ts';
import type { Layer } from './layer.ts';
import { cleanPath, type LayerEntry, OPAQUE_MARKER, WHITEOUT_PREFIX } from './layer-entries.ts';
import { type LayerOptions, layerFromEntries } from './tar-layer.ts';

export interface ReadTarOptions {
  /** Where the tar came from, for error messages. */
  source?: string;
  /** `keep` (default) maps `.wh.` names to whiteout entries; `refuse` throws on them. */
  whiteouts?: 'keep' | 'refuse';
}

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
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
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

/**
 * Parse a tar (optionally gzip-compressed) into entries, in archive order (later duplicates win).
 * File contents are held in memory.
 */
export async function readTarEntries(input: Readable, opts: ReadTarOptions = {}): Promise<LayerEntry[]> {
  const where = opts.source ?? 'tar input';
  const { head, stream } = await peek(input, 6);
  if (head.byteLength === 0) throw new InvalidTarError(`${where} is empty, not a tar archive`);
  const kind = compressionOf(head);
  if (kind && kind !== 'gzip')
    throw new InvalidTarError(`${where} is ${kind}-compressed; only plain and gzip tars are supported`);
  const source = kind === 'gzip' ? stream.pipe(createGunzip()) : stream;
  const extract = tar.extract();
  if (kind === 'gzip') stream.on('error', (e) => source.destroy(e));
  source.on('error', (e) => extract.destroy(e));
  source.pipe(extract as unknown as NodeJS.WritableStream);

  const entries = new Map<string, LayerEntry>();
  const seenFiles = new Set<string>();
  let current: string | undefined;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      current = h.name;
      if (h.name.startsWith('/'))
        throw new UnsafePathError(h.name, 'absolute paths are not allowed in a layer tar', where);
      const path = cleanPath(h.name, where);
      const base = path.slice(path.lastIndexOf('/') + 1);
      const common = {
        path,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        ...(xattrsOf(h.pax) ? { xattrs: xattrsOf(h.pax)! } : {}),
      };
      const body = await readAll(entry as AsyncIterable<Buffer>);
      if (base.startsWith(WHITEOUT_PREFIX)) {
        if (opts.whiteouts === 'refuse')
          throw new UnsafePathError(h.name, 'whiteout entries (.wh.*) are not allowed here', where);
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
          e = { ...common, type: 'file', mode, content: body };
          seenFiles.add(path);
          break;
        case 'directory':
          e = { ...common, type: 'dir', mode };
          break;
        case 'symlink':
          e = { ...common, type: 'symlink', target: h.linkname ?? '' };
          break;
        case 'link': {
          const target = cleanPath(h.linkname ?? '', `${where}: hardlink ${h.name}`);
          if (!seenFiles.has(target)) {
            throw new UnsafePathError(
              h.linkname ?? '',
              'hardlink target is not a file earlier in this archive',
              `${where}: ${h.name}`,
            );
          }
          e = { ...common, type: 'hardlink', target };
          break;
        }
        case 'character-device':
        case 'block-device':
          e = {
            ...common,
            type: h.type === 'character-device' ? 'char-device' : 'block-device',
            mode,
            devmajor: h.devmajor,
            devminor: h.devminor,
          };
          break;
        case 'fifo':
          e = { ...common, type: 'fifo', mode };
          break;
        default:
          throw new InvalidTarError(`unsupported tar entry type ${h.type}`, h.name);
      }
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

/** A deterministic layer from an existing tar (normalised: sorted, times fixed, parents synthesised). */
export async function layerFromTarStream(
  input: Readable,
  opts: LayerOptions & ReadTarOptions = {},
): Promise<Layer> {
  return layerFromEntries(await readTarEntries(input, opts), opts);
}
