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
const ZERO = 0x30;
const USTAR = Buffer.from('ustar\x0000', 'latin1');
const ASCII = /^[\x00-\x7f]*$/;

/**
 * `value` as `n` octal digits and a space at `out[at]` (tar-stream's `encodeOct`: zero-padded, or all sevens when
 * it needs more than `n` digits). Digits are stored one by one: no string per field. Returns the sum of the bytes
 * written (for the header's checksum).
 */
function putOctal(out: Buffer, at: number, value: number, n: number): number {
  if (!(value >= 0 && Number.isInteger(value))) {
    // What tar-stream writes for anything else (a negative time past 2038 from its `| 0`): its string, as is.
    const s = value.toString(8);
    return putAscii(out, at, s.length > n ? `${'7'.repeat(n)} ` : `${'0'.repeat(n - s.length)}${s} `);
  }
  let v = value;
  let sum = 0x20;
  for (let i = n - 1; i >= 0; i--) {
    const digit = v % 8;
    out[at + i] = ZERO + digit;
    sum += ZERO + digit;
    v = Math.floor(v / 8);
  }
  if (v > 0) {
    out.fill(0x37, at, at + n);
    sum = 0x37 * n + 0x20;
  }
  out[at + n] = 0x20;
  return sum;
}

/** `s` (ASCII) at `out[at]`; returns the sum of its bytes. */
function putAscii(out: Buffer, at: number, s: string): number {
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[at + i] = c;
    sum += c;
  }
  return sum;
}

/**
 * A header block with the fields most entries of a layer share already in (uid, gid, mtime, the magic and the
 * device numbers; zeros where each entry's own fields go), and the sum of those bytes with the checksum field as
 * eight spaces. Each header starts as a copy of it: no 512-byte fill and sum per entry.
 */
interface Template {
  uid: number;
  gid: number;
  mtime: number;
  devmajor: number;
  devminor: number;
  bytes: Buffer;
  sum: number;
}

let template: Template | undefined;

function templateFor(h: Ustar): Template {
  const t = template;
  if (
    t &&
    t.uid === h.uid &&
    t.gid === h.gid &&
    t.mtime === h.mtime &&
    t.devmajor === h.devmajor &&
    t.devminor === h.devminor
  )
    return t;
  const bytes = Buffer.alloc(512);
  putOctal(bytes, 108, h.uid, 6);
  putOctal(bytes, 116, h.gid, 6);
  putOctal(bytes, 136, h.mtime, 11);
  USTAR.copy(bytes, 257);
  putOctal(bytes, 329, h.devmajor, 6);
  putOctal(bytes, 337, h.devminor, 6);
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += bytes[i]!;
  for (let i = 156; i < 512; i++) sum += bytes[i]!;
  template = {
    uid: h.uid,
    gid: h.gid,
    mtime: h.mtime,
    devmajor: h.devmajor,
    devminor: h.devminor,
    bytes,
    sum,
  };
  return template;
}

/** The ustar name and prefix for `name`, or undefined when it needs a PAX record (tar-stream's rule). */
function split(name: string, linkname: string): { name: string; prefix: string } | undefined {
  if (name.length <= 100 && !linkname && ASCII.test(name)) return { name, prefix: '' };
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

/** What one ustar header block holds: the entry's fields, its name split into prefix and name, the typeflag. */
type Ustar = Omit<TarHeaderFields, 'type' | 'pax'> & { prefix: string; typeflag: number };

/** One 512-byte ustar header at `out[at]`. */
function writeUstar(out: Buffer, at: number, h: Ustar): void {
  const t = templateFor(h);
  t.bytes.copy(out, at);
  // The template's bytes (checksum field as spaces) plus each field written here: the sum of the whole block.
  let sum = t.sum + putAscii(out, at, h.name);
  sum += putOctal(out, at + 100, h.mode & 0o7777, 6);
  if (h.size >= 8 ** 11) {
    // base-256, as tar-stream and GNU tar write sizes of 8 GiB and more
    out[at + 124] = 0x80;
    sum += 0x80;
    let num = h.size;
    for (let i = 11; i > 0; i--) {
      out[at + 124 + i] = num & 0xff;
      sum += num & 0xff;
      num = Math.floor(num / 0x100);
    }
  } else sum += putOctal(out, at + 124, h.size, 11);
  out[at + 156] = ZERO + h.typeflag;
  sum += ZERO + h.typeflag;
  if (h.linkname) {
    const n = out.write(h.linkname, at + 157, 100, 'utf8');
    for (let i = at + 157; i < at + 157 + n; i++) sum += out[i]!;
  }
  if (h.prefix) sum += putAscii(out, at + 345, h.prefix);
  putOctal(out, at + 148, sum, 6);
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
  const ustar = h.pax ? undefined : split(h.name, h.linkname);
  const base: Ustar = {
    name: ustar?.name ?? 'PaxHeader',
    prefix: ustar?.prefix ?? '',
    typeflag: TYPEFLAG[h.type],
    mode: h.mode,
    uid: h.uid || 0,
    gid: h.gid || 0,
    size: h.size,
    mtime: h.mtime,
    linkname: ustar ? h.linkname : h.linkname ? 'PaxHeader' : '',
    devmajor: h.devmajor || 0,
    devminor: h.devminor || 0,
  };
  if (ustar) {
    writeUstar(out, at, base);
    return 512;
  }
  let text = h.name ? paxRecord(` path=${h.name}\n`) : '';
  if (h.linkname) text += paxRecord(` linkpath=${h.linkname}\n`);
  for (const key in h.pax ?? {}) text += paxRecord(` ${key}=${h.pax![key]}\n`);
  const records = Buffer.from(text, 'utf8');
  const padded = Math.ceil(records.byteLength / 512) * 512;
  const bytes = Buffer.alloc(512 + padded + 512);
  writeUstar(bytes, 0, { ...base, typeflag: TYPEFLAG['pax-header'], size: records.byteLength });
  records.copy(bytes, 512);
  writeUstar(bytes, 512 + padded, base);
  return bytes;
}
