/**
 * What goes into a layer, and the determinism rules (OCI-NOTES #10–#12): clean relative paths, no `..`,
 * sorted component-wise so parents precede children, missing parents synthesised (0755), uid/gid 0 unless
 * given, explicit modes, whiteouts only when asked for, hardlinks always after their target.
 */
import { HardlinkTargetError, InvalidEntryError, UnsafePathError } from './errors.ts';

interface Owned {
  /** Image path, e.g. `hello` or `/etc/passwd` (a leading `/` is dropped). */
  path: string;
  uid?: number;
  gid?: number;
  /** Extended attributes, written as PAX `SCHILY.xattr.<name>` records. */
  xattrs?: Record<string, string>;
  /** Seconds since the epoch, written clamped to the layer's `sourceDateEpoch` (default: that epoch). */
  mtime?: number;
}

export type LayerEntry =
  | (Owned & { type: 'file'; mode?: number; content: Buffer | string })
  /**
   * Contents read from a file on disk when the layer is built, streamed (never held whole): the whole file, or
   * with `size` the `size` bytes at `offset` (a slice of a spool or an archive).
   */
  | (Owned & {
      type: 'file';
      mode?: number;
      source: string;
      offset?: number;
      size?: number;
      /**
       * The whole file's size when it was listed (a walk's lstat), for the progress total only: it spares a stat
       * per file. The body and its size are still those read when the layer is packed.
       */
      listedSize?: number;
    })
  | (Owned & { type: 'dir'; mode?: number })
  | (Owned & { type: 'symlink'; target: string })
  | (Owned & { type: 'hardlink'; target: string })
  | (Owned & {
      type: 'char-device' | 'block-device' | 'fifo';
      mode?: number;
      devmajor?: number;
      devminor?: number;
    })
  /** Hides `path` of lower layers: emitted as `<dir>/.wh.<name>`. */
  | { type: 'whiteout'; path: string }
  /** Hides everything lower layers put in directory `path`: emitted as `<path>/.wh..wh..opq`. */
  | { type: 'opaque'; path: string };

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/** A normalised entry ready for the tar writer: `name` is the exact tar name (without a dir's trailing `/`). */
export interface TarRecord {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string>;
  /** Seconds since the epoch (clamped when written); undefined: the layer's `sourceDateEpoch`. */
  mtime?: number;
  content?: Buffer | string;
  source?: string;
  /** With `source`: the contents are the `size` bytes at `offset` (default: the whole file). */
  offset?: number;
  size?: number;
  /** With a whole file as `source`: its size when listed (progress totals only). */
  listedSize?: number;
}

/** Anything `cleanPath` would change or refuse: `\`, NUL, an empty, `.` or `..` component, a leading or trailing `/`. */
const NOT_CLEAN = /[\\\0]|\/\/|^\/|\/$|(?:^|\/)\.{1,2}(?:\/|$)/;

/**
 * Clean an image path: drop leading `/` and `./`, collapse `//` and `.`; refuse `..` and NUL.
 * Returns '' for the root.
 */
export function cleanPath(p: string, where?: string): string {
  // Most paths are clean already but for one leading `/` (a walk's `/dest/dir/file`): no split and join.
  const rest = p.charCodeAt(0) === 0x2f ? p.slice(1) : p;
  if (!NOT_CLEAN.test(rest)) return rest;
  if (p.includes('\0')) throw new UnsafePathError(p, 'contains a NUL byte', where);
  const parts: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw new UnsafePathError(p, '`..` is not allowed in layer paths', where);
    parts.push(seg);
  }
  return parts.join('/');
}

/** Compare two clean paths component by component, bytewise (locale independent). */
export function comparePaths(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const c = Buffer.compare(Buffer.from(as[i]!), Buffer.from(bs[i]!));
    if (c !== 0) return c;
  }
  return as.length - bs.length;
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

function baseOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function checkId(path: string, what: string, v: number | undefined): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0 || v > 0o7777777)
    throw new InvalidEntryError(path, `${what} ${v} is not a valid id`);
  return v;
}

function checkMode(path: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 0 || v > 0o7777)
    throw new InvalidEntryError(path, `mode ${v.toString(8)} is outside 0..7777`);
  return v;
}

function toRecord(e: LayerEntry): TarRecord {
  const path = cleanPath(e.path);
  if (e.type === 'whiteout' || e.type === 'opaque') {
    if (!path) throw new InvalidEntryError(e.path, `a ${e.type} needs a path below the root`);
    const name =
      e.type === 'whiteout'
        ? joinPath(parentOf(path), WHITEOUT_PREFIX + baseOf(path))
        : joinPath(path, OPAQUE_MARKER);
    const r = record(name, 'file', 0o644, 0, 0, undefined);
    r.content = Buffer.alloc(0);
    return r;
  }
  if (baseOf(path).startsWith(WHITEOUT_PREFIX)) {
    throw new InvalidEntryError(
      e.path,
      `names starting with ${WHITEOUT_PREFIX} are whiteouts; use a { type: 'whiteout' } entry if that is intended`,
    );
  }
  const uid = checkId(path, 'uid', e.uid);
  const gid = checkId(path, 'gid', e.gid);
  const xattrs = e.xattrs && Object.keys(e.xattrs).length ? e.xattrs : undefined;
  const r = ownedRecord(e, path, uid, gid, xattrs);
  if (e.mtime !== undefined) {
    if (!Number.isSafeInteger(e.mtime))
      throw new InvalidEntryError(e.path, `mtime ${e.mtime} is not whole seconds`);
    r.mtime = e.mtime;
  }
  return r;
}

function ownedRecord(
  e: Exclude<LayerEntry, { type: 'whiteout' | 'opaque' }>,
  path: string,
  uid: number,
  gid: number,
  xattrs: Record<string, string> | undefined,
): TarRecord {
  switch (e.type) {
    case 'file': {
      if (!path) throw new InvalidEntryError(e.path, 'a file needs a name');
      const r = record(path, 'file', checkMode(path, e.mode, 0o644), uid, gid, xattrs);
      if ('source' in e) setSource(r, path, e);
      else r.content = e.content;
      return r;
    }
    case 'dir':
      return record(path, 'directory', checkMode(path, e.mode, 0o755), uid, gid, xattrs);
    case 'symlink':
      if (!e.target) throw new InvalidEntryError(e.path, 'symlink has an empty target');
      return record(path, 'symlink', 0o777, uid, gid, xattrs, e.target);
    case 'hardlink':
      return record(path, 'link', 0o644, uid, gid, xattrs, cleanPath(e.target, `hardlink ${path}`));
    case 'char-device':
    case 'block-device':
    case 'fifo':
      return record(
        path,
        e.type === 'char-device' ? 'character-device' : e.type,
        checkMode(path, e.mode, e.type === 'fifo' ? 0o644 : 0o600),
        uid,
        gid,
        xattrs,
        undefined,
        e.devmajor ?? 0,
        e.devminor ?? 0,
      );
  }
}

/**
 * A record with every field in one fixed order (an import holds one per entry: a literal of one shape takes
 * about a third of the memory of one assembled by spreading).
 */
function record(
  name: string,
  type: TarRecord['type'],
  mode: number,
  uid: number,
  gid: number,
  xattrs: Record<string, string> | undefined,
  linkname?: string,
  devmajor?: number,
  devminor?: number,
): TarRecord {
  return {
    name,
    type,
    mode,
    uid,
    gid,
    linkname,
    devmajor,
    devminor,
    xattrs,
    mtime: undefined,
    content: undefined,
    source: undefined,
    offset: undefined,
    size: undefined,
    listedSize: undefined,
  };
}

/** A file record's source on disk: the whole file (with its listed size, if any) or a slice of it. */
function setSource(
  r: TarRecord,
  path: string,
  e: { source: string; offset?: number; size?: number; listedSize?: number },
): void {
  r.source = e.source;
  if (e.size === undefined && e.offset === undefined) {
    if (e.listedSize !== undefined) r.listedSize = e.listedSize;
    return;
  }
  const ok = (v: number | undefined) => v !== undefined && Number.isSafeInteger(v) && v >= 0;
  if (!ok(e.offset ?? 0) || !ok(e.size))
    throw new InvalidEntryError(path, `a slice of ${e.source} needs a size and an offset ≥ 0`);
  r.offset = e.offset ?? 0;
  r.size = e.size!;
}

function joinPath(a: string, b: string): string {
  return a ? `${a}/${b}` : b;
}

/**
 * Normalise entries into the exact, ordered list of tar records of a deterministic layer.
 * Throws `UnsafePathError` / `InvalidEntryError` naming the offending entry.
 */
export function normalizeEntries(entries: readonly LayerEntry[]): TarRecord[] {
  const byName = new Map<string, TarRecord>();
  for (const e of entries) {
    const r = toRecord(e);
    if (r.name === '') continue; // the root directory itself is never an entry
    const prev = byName.get(r.name);
    if (prev) {
      const same = prev.type === 'directory' && r.type === 'directory';
      if (!same) throw new InvalidEntryError(r.name, 'appears twice in the layer');
      continue; // first explicit directory wins
    }
    byName.set(r.name, r);
  }
  // Synthesize missing parents; refuse a parent that is not a directory. A walk up stops at a directory that is
  // there: its own parents are walked up from it (it is an entry) or from the name it was made for.
  for (const name of [...byName.keys()]) {
    for (let p = parentOf(name); p !== ''; p = parentOf(p)) {
      const existing = byName.get(p);
      if (existing) {
        if (existing.type !== 'directory')
          throw new InvalidEntryError(name, `its parent ${p} is a ${existing.type}, not a directory`);
        break;
      }
      byName.set(p, record(p, 'directory', 0o755, 0, 0, undefined));
    }
  }
  // Hardlinks: the target must be a regular file in this layer; the first name in sort order carries content.
  for (const r of byName.values()) {
    if (r.type !== 'link') continue;
    let target = byName.get(r.linkname!);
    const seen = new Set([r.name]);
    while (target?.type === 'link' && !seen.has(target.name)) {
      seen.add(target.name);
      target = byName.get(target.linkname!);
    }
    if (target?.type !== 'file') {
      throw new HardlinkTargetError(r.name, r.linkname!, 'layer');
    }
    r.linkname = target.name;
  }
  const groups = new Map<string, TarRecord[]>();
  for (const r of byName.values()) {
    if (r.type !== 'link') continue;
    const g = groups.get(r.linkname!) ?? [];
    g.push(r);
    groups.set(r.linkname!, g);
  }
  for (const [targetName, links] of groups) {
    const target = byName.get(targetName)!;
    const first = [target, ...links].sort((a, b) => comparePaths(a.name, b.name))[0]!;
    if (first === target) continue;
    // Swap: `first` becomes the file with the content, the old target becomes a link to it.
    const { name: firstName } = first;
    byName.set(firstName, { ...target, name: firstName });
    byName.set(targetName, { ...first, name: targetName, linkname: firstName });
    for (const l of links)
      if (l.name !== firstName && l.name !== targetName) byName.set(l.name, { ...l, linkname: firstName });
  }
  return sortByPath([...byName.values()]);
}

/**
 * `records` in `comparePaths` order. A path's UTF-8 bytes with every `/` as a NUL byte (never in a name) sort
 * bytewise exactly as `comparePaths` orders the paths (component by component, a prefix first), so each key is
 * made once instead of splitting and encoding both paths in every comparison. The key is a string of those bytes
 * (one character per byte), which JavaScript compares bytewise; ASCII names are their own bytes.
 */
function sortByPath(records: TarRecord[]): TarRecord[] {
  if (inPathOrder(records)) return records;
  const keyed = records.map((r) => ({ r, key: sortKey(r.name) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.r);
}

/**
 * Whether `records` are in `sortKey` order already (a walk lists a tree in it: sorted names, each directory
 * before what it holds), checked without making keys: names compared unit by unit, `/` as the lowest. Below
 * U+D800 a UTF-16 code unit orders as the UTF-8 bytes of its character do; a name with a unit at or above it makes
 * the answer "no", and the records are sorted by their keys.
 */
function inPathOrder(records: readonly TarRecord[]): boolean {
  for (let k = 1; k < records.length; k++) {
    const a = records[k - 1]!.name;
    const b = records[k]!.name;
    const n = Math.min(a.length, b.length);
    let i = 0;
    while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
    if (i === n) {
      // one is a prefix of the other (its key too): the shorter goes first
      if (a.length >= b.length) return false;
      continue;
    }
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x >= 0xd800 || y >= 0xd800) return false;
    if ((x === 0x2f ? 0 : x) > (y === 0x2f ? 0 : y)) return false;
  }
  return true;
}

export function sortKey(path: string): string {
  const key = path.replaceAll('/', '\0');
  return /^[\x00-\x7f]*$/.test(key) ? key : Buffer.from(key, 'utf8').toString('latin1');
}
