/**
 * Hand-made ustar archives for refusal tests: names and link targets exactly as given (GNU tar strips a
 * leading `/` and refuses to write `..`, so it cannot make the bad archives we need).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TarSpec {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'chardev';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  /** Device numbers of a `chardev`. */
  dev?: [number, number];
}

const TYPEFLAG = { file: '0', link: '1', symlink: '2', chardev: '3', dir: '5' } as const;

/** The 512-byte ustar header of `e` for a body of `size` bytes. */
export function tarHeader(e: TarSpec, size: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s, off, Math.min(len, Buffer.byteLength(s)));
  const octal = (n: number, off: number, len: number) =>
    put(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len);
  put(e.name, 0, 100);
  octal(e.mode ?? (e.type === 'dir' ? 0o755 : 0o644), 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(0, 136, 12);
  h.fill(' ', 148, 156);
  put(TYPEFLAG[e.type ?? 'file'], 156, 1);
  put(e.linkname ?? '', 157, 100);
  put('ustar\u000000', 257, 8);
  if (e.dev) {
    octal(e.dev[0], 329, 8);
    octal(e.dev[1], 337, 8);
  }
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** A tar of `entries`, with the two zero blocks at the end unless `end` is false. */
export function tarOf(entries: TarSpec[], { end = true } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.type === 'file' || e.type === undefined ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    parts.push(tarHeader(e, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A fingerprint of a layout directory: index.json's hash and every blob name, to prove nothing changed. */
export async function layoutFingerprint(dir: string): Promise<string> {
  const index = createHash('sha256')
    .update(await readFile(join(dir, 'index.json')))
    .digest('hex');
  const blobs = (await readdir(join(dir, 'blobs', 'sha256'))).sort();
  return `${index} ${blobs.join(',')}`;
}
