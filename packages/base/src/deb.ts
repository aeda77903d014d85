/**
 * Reading a `.deb` without dpkg: an `ar` archive (`!<arch>\n`, 60-byte member headers) holding
 * `debian-binary`, `control.tar.*` and `data.tar.*` (gzip or xz). Only the files are read; maintainer
 * scripts are never run.
 */
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import xzDecompress from 'xz-decompress';
import { BaseError } from './errors.ts';

/** One member of a package's tar: a path without `./`, its type, mode, and contents or link target. */
export interface DebEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  mode: number;
  content?: Buffer;
  target?: string;
}

export interface DebContents {
  /** The package's `control` file (its dpkg status record). */
  control: string;
  /** The data members in archive order. */
  data: DebEntry[];
}

const MAGIC = '!<arch>\n';

/** The members of an ar archive by name (`data.tar.xz` → bytes). */
export function arMembers(buf: Buffer, what: string): Map<string, Buffer> {
  const invalid = (why: string) =>
    new BaseError('BASE_DEB_INVALID', `${what}: not a Debian package (${why})`, {
      hint: 'the cached or downloaded file is damaged: delete it from the cache and build again',
    });
  if (buf.subarray(0, 8).toString('latin1') !== MAGIC) throw invalid('no ar header');
  const out = new Map<string, Buffer>();
  let off = 8;
  while (off + 60 <= buf.length) {
    const h = buf.subarray(off, off + 60);
    if (h.subarray(58, 60).toString('latin1') !== '`\n') throw invalid(`bad member header at ${off}`);
    const name = h.subarray(0, 16).toString('latin1').trim().replace(/\/$/, '');
    const size = Number.parseInt(h.subarray(48, 58).toString('latin1').trim(), 10);
    if (!Number.isSafeInteger(size) || size < 0 || off + 60 + size > buf.length)
      throw invalid(`member ${name} is truncated`);
    out.set(name, buf.subarray(off + 60, off + 60 + size));
    off += 60 + size + (size % 2);
  }
  return out;
}

async function decompress(name: string, bytes: Buffer): Promise<Buffer> {
  if (name.endsWith('.gz')) return gunzipSync(bytes);
  if (name.endsWith('.xz')) {
    const xz = new xzDecompress.XzReadableStream(
      Readable.toWeb(Readable.from([bytes])) as ReadableStream<Uint8Array>,
    );
    return Buffer.from(await new Response(xz).arrayBuffer());
  }
  if (name.endsWith('.tar')) return bytes;
  throw new BaseError('BASE_DEB_INVALID', `${name}: unsupported compression`, {
    hint: 'only gzip and xz packages are supported (Debian uses xz)',
  });
}

/** Read a tar into entries (regular files, directories, symlinks, hardlinks; nothing else is expected). */
export async function tarEntries(tarBytes: Buffer, what: string): Promise<DebEntry[]> {
  const out: DebEntry[] = [];
  const ex = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const path = h.name.replace(/^\.?\/+/, '').replace(/\/$/, '');
        const mode = (h.mode ?? 0o644) & 0o7777;
        if (path) {
          if (h.type === 'file') out.push({ path, type: 'file', mode, content: Buffer.concat(chunks) });
          else if (h.type === 'directory') out.push({ path, type: 'dir', mode });
          else if (h.type === 'symlink') out.push({ path, type: 'symlink', mode, target: h.linkname ?? '' });
          else if (h.type === 'link')
            out.push({ path, type: 'hardlink', mode, target: (h.linkname ?? '').replace(/^\.?\/+/, '') });
          else {
            reject(new BaseError('BASE_DEB_INVALID', `${what}: unexpected ${h.type} entry ${path}`));
            return;
          }
        }
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', (e) =>
      reject(new BaseError('BASE_DEB_INVALID', `${what}: unreadable tar (${e.message})`, { cause: e })),
    );
  });
  ex.end(tarBytes);
  await done;
  return out;
}

/** Unpack a `.deb` held in memory: its control record and its data files. */
export async function readDeb(buf: Buffer, what: string): Promise<DebContents> {
  const members = arMembers(buf, what);
  const pick = (prefix: string) => {
    const name = [...members.keys()].find((k) => k.startsWith(prefix));
    if (!name) throw new BaseError('BASE_DEB_INVALID', `${what}: no ${prefix}* member`);
    return name;
  };
  const controlName = pick('control.tar');
  const dataName = pick('data.tar');
  const control = await tarEntries(await decompress(controlName, members.get(controlName)!), what);
  const record = control.find((e) => e.path === 'control' && e.type === 'file');
  if (!record?.content) throw new BaseError('BASE_DEB_INVALID', `${what}: no control file`);
  const data = await tarEntries(await decompress(dataName, members.get(dataName)!), what);
  return { control: record.content.toString('utf8'), data };
}
