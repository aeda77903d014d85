/**
 * Tar headers written straight into the layer's output buffer: the bytes tar-stream's `pack()` writes for the
 * same entry (ustar, a name over 100 bytes split into prefix/name, PAX `path`/`linkpath`/extra records when that
 * does not fit or a name is not ASCII), without a stream, a sink and a promise per entry. Byte-for-byte equality
 * with tar-stream is tested (test/tar-header.test.ts), since every layer digest depends on it.
 */

/** One entry's header, as the layer writer has it. */
export interface TarHeaderFields {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extra PAX records (written in this order). */
  pax?: Record<string, string> | undefined;
}

const TYPEFLAG: Record<TarHeaderFields['type'] | 'pax-header', number> = {
  file: 0,
  link: 1,
  symlink: 2,
  'character-device': 3,
  'block-device': 4,
  directory: 5,
  fifo: 6,
  'pax-header': 72,
};
const ZEROS = '0000000000000000000';
const SEVENS = '7777777777777777777';
const ZERO = 0x30;
const USTAR = Buffer.from('ustar\x0000', 'latin1');
const ASCII = /^[\x00-\x7f]*$/;

function octal(value: number, n: number): string {
  const s = value.toString(8);
  return s.length > n ? `${SEVENS.slice(0, n)} ` : `${ZEROS.slice(0, n - s.length)}${s} `;
}

/** The ustar name and prefix for `name`, or undefined when it needs a PAX record (tar-stream's rule). */
function split(name: string, linkname: string): { name: string; prefix: string } | undefined {
  if (!ASCII.test(name)) return undefined;
  let prefix = '';
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return undefined;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (name.length > 100 || prefix.length > 155) return undefined;
  if (linkname && Buffer.byteLength(linkname) > 100) return undefined;
  return { name, prefix };
}

interface Ustar {
  name: string;
  prefix: string;
  typeflag: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

/** One 512-byte ustar header at `out[at]`. */
function writeUstar(out: Buffer, at: number, h: Ustar): void {
  out.fill(0, at, at + 512);
  out.write(h.name, at, 'latin1');
  out.write(octal(h.mode & 0o7777, 6), at + 100, 'latin1');
  out.write(octal(h.uid, 6), at + 108, 'latin1');
  out.write(octal(h.gid, 6), at + 116, 'latin1');
  if (h.size.toString(8).length > 11) {
    // base-256, as tar-stream and GNU tar write sizes of 8 GiB and more
    out[at + 124] = 0x80;
    let num = h.size;
    for (let i = 11; i > 0; i--) {
      out[at + 124 + i] = num & 0xff;
      num = Math.floor(num / 0x100);
    }
  } else out.write(octal(h.size, 11), at + 124, 'latin1');
  out.write(octal(h.mtime, 11), at + 136, 'latin1');
  out[at + 156] = ZERO + h.typeflag;
  if (h.linkname) out.write(h.linkname, at + 157, 100, 'utf8');
  USTAR.copy(out, at + 257);
  out.write(octal(h.devmajor, 6), at + 329, 'latin1');
  out.write(octal(h.devminor, 6), at + 337, 'latin1');
  if (h.prefix) out.write(h.prefix, at + 345, 'latin1');
  let sum = 8 * 32;
  for (let i = at; i < at + 148; i++) sum += out[i]!;
  for (let i = at + 156; i < at + 512; i++) sum += out[i]!;
  out.write(octal(sum, 6), at + 148, 'latin1');
}

/** A PAX record: its length (counting itself) and ` key=value\n`, as tar-stream computes it. */
function paxRecord(str: string): string {
  const len = Buffer.byteLength(str);
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= 10 ** digits) digits++;
  return `${len + digits}${str}`;
}

/** tar-stream's defaults for a header: mode 0 becomes 0755 (directories) or 0644, a symlink has no size. */
function normalised(h: TarHeaderFields): TarHeaderFields {
  const size = !h.size || h.type === 'symlink' ? 0 : h.size;
  const mode = h.mode || (h.type === 'directory' ? 0o755 : 0o644);
  return size === h.size && mode === h.mode ? h : { ...h, size, mode };
}

/**
 * The header of one entry: the common case (a ustar header) is written into `out` at `at`, which must have 512
 * bytes of room, and 512 is returned; a PAX entry's headers (the PAX header, its records padded to 512 and the
 * entry's own header) come back in a buffer of their own.
 */
export function writeTarHeader(out: Buffer, at: number, fields: TarHeaderFields): 512 | Buffer {
  const h = normalised(fields);
  const base = {
    typeflag: TYPEFLAG[h.type],
    mode: h.mode,
    uid: h.uid || 0,
    gid: h.gid || 0,
    size: h.size,
    mtime: h.mtime,
    devmajor: h.devmajor || 0,
    devminor: h.devminor || 0,
  };
  const ustar = h.pax ? undefined : split(h.name, h.linkname);
  if (ustar) {
    writeUstar(out, at, { ...base, ...ustar, linkname: h.linkname });
    return 512;
  }
  let text = h.name ? paxRecord(` path=${h.name}\n`) : '';
  if (h.linkname) text += paxRecord(` linkpath=${h.linkname}\n`);
  for (const key in h.pax ?? {}) text += paxRecord(` ${key}=${h.pax![key]}\n`);
  const records = Buffer.from(text, 'utf8');
  const padded = Math.ceil(records.byteLength / 512) * 512;
  const bytes = Buffer.alloc(512 + padded + 512);
  const common = { ...base, name: 'PaxHeader', prefix: '', linkname: h.linkname ? 'PaxHeader' : '' };
  writeUstar(bytes, 0, { ...common, typeflag: TYPEFLAG['pax-header'], size: records.byteLength });
  records.copy(bytes, 512);
  writeUstar(bytes, 512 + padded, common);
  return bytes;
}
