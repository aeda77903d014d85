/**
 * What goes into a layer, and the determinism rules (OCI-NOTES #10–#12): clean relative paths, no `..`,
 * sorted component-wise so parents precede children, missing parents synthesised (0755), uid/gid 0 unless
 * given, explicit modes, whiteouts only when asked for, hardlinks always after their target.
 */
import { InvalidEntryError, UnsafePathError } from './errors.ts';

interface Owned {
  /** Image path, e.g. `hello` or `/etc/passwd` (a leading `/` is dropped). */
  path: string;
  uid?: number;
  gid?: number;
  /** Extended attributes, written as PAX `SCHILY.xattr.<name>` records. */
  xattrs?: Record<string, string>;
}

export type LayerEntry =
  | (Owned & { type: 'file'; mode?: number; content: Buffer | string })
  /**
   * Contents read from a file on disk when the layer is built, streamed (never held whole): the whole file, or
   * with `size` the `size` bytes at `offset` (a slice of a spool or an archive).
   */
  | (Owned & { type: 'file'; mode?: number; source: string; offset?: number; size?: number })
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
  content?: Buffer | string;
  source?: string;
  /** With `source`: the contents are the `size` bytes at `offset` (default: the whole file). */
  offset?: number;
  size?: number;
}

/**
 * Clean an image path: drop leading `/` and `./`, collapse `//` and `.`; refuse `..` and NUL.
 * Returns '' for the root.
 */
export function cleanPath(p: string, where?: string): string {
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
    return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.alloc(0) };
  }
  if (baseOf(path).startsWith(WHITEOUT_PREFIX)) {
    throw new InvalidEntryError(
      e.path,
      `names starting with ${WHITEOUT_PREFIX} are whiteouts; use a { type: 'whiteout' } entry if that is intended`,
    );
  }
  const base = {
    name: path,
    uid: checkId(path, 'uid', e.uid),
    gid: checkId(path, 'gid', e.gid),
    ...(e.xattrs && Object.keys(e.xattrs).length ? { xattrs: e.xattrs } : {}),
  };
  switch (e.type) {
    case 'file':
      if (!path) throw new InvalidEntryError(e.path, 'a file needs a name');
      return {
        ...base,
        type: 'file',
        mode: checkMode(path, e.mode, 0o644),
        ...('source' in e ? sourceOf(path, e) : { content: e.content }),
      };
    case 'dir':
      return { ...base, type: 'directory', mode: checkMode(path, e.mode, 0o755) };
    case 'symlink':
      if (!e.target) throw new InvalidEntryError(e.path, 'symlink has an empty target');
      return { ...base, type: 'symlink', mode: 0o777, linkname: e.target };
    case 'hardlink':
      return { ...base, type: 'link', mode: 0o644, linkname: cleanPath(e.target, `hardlink ${path}`) };
    case 'char-device':
    case 'block-device':
    case 'fifo':
      return {
        ...base,
        type: e.type === 'char-device' ? 'character-device' : e.type,
        mode: checkMode(path, e.mode, e.type === 'fifo' ? 0o644 : 0o600),
        devmajor: e.devmajor ?? 0,
        devminor: e.devminor ?? 0,
      };
  }
}

function sourceOf(path: string, e: { source: string; offset?: number; size?: number }) {
  if (e.size === undefined && e.offset === undefined) return { source: e.source };
  const ok = (v: number | undefined) => v !== undefined && Number.isSafeInteger(v) && v >= 0;
  if (!ok(e.offset ?? 0) || !ok(e.size))
    throw new InvalidEntryError(path, `a slice of ${e.source} needs a size and an offset ≥ 0`);
  return { source: e.source, offset: e.offset ?? 0, size: e.size! };
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
  // Synthesize missing parents; refuse a parent that is not a directory.
  for (const name of [...byName.keys()]) {
    for (let p = parentOf(name); p !== ''; p = parentOf(p)) {
      const existing = byName.get(p);
      if (existing) {
        if (existing.type !== 'directory')
          throw new InvalidEntryError(name, `its parent ${p} is a ${existing.type}, not a directory`);
        continue;
      }
      byName.set(p, { name: p, type: 'directory', mode: 0o755, uid: 0, gid: 0 });
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
      throw new UnsafePathError(
        r.linkname!,
        'hardlink target is not a regular file inside this layer',
        `hardlink ${r.name}`,
      );
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
  return [...byName.values()].sort((a, b) => comparePaths(a.name, b.name));
}
