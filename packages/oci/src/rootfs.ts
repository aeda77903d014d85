/**
 * Apply an image's layers, base first, into a new or empty directory (used by `scratchpack run`). Safe
 * against hostile layers, whatever order entries and layers come in:
 * - every path is resolved inside the root (symlinks followed as if the root were `/`, `..` refused);
 * - every metadata call acts on the entry itself: files are created afresh (`O_EXCL|O_NOFOLLOW`) and
 *   chmod-ed through their descriptor, directory modes are applied only after checking, component by
 *   component, that no symlink leads there (a later entry may have replaced a directory with a link);
 * - whiteouts (`.wh.<name>`, `.wh..wh..opq`) remove only a plain name below their own directory, inside
 *   the root; `.wh..`, `.wh...` and empty names are refused.
 * Unprivileged: ownership, times and device nodes are not reproduced; device nodes are reported.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  symlinkSync,
} from 'node:fs';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { HashingStream } from './digest.ts';
import {
  DigestMismatchError,
  HardlinkTargetError,
  InvalidTarError,
  OciError,
  UnsafePathError,
} from './errors.ts';
import type { Image } from './image.ts';
import { type Layer, uncompressed } from './layer.ts';
import { cleanPath, OPAQUE_MARKER, WHITEOUT_PREFIX } from './layer-entries.ts';
import { resolveInRoot } from './root-path.ts';
import { writeAll } from './spool.ts';
import { type UnpackBudget, UnpackTooLargeError, watchBudget } from './unpack-budget.ts';

export interface ExtractReport {
  /** Entries written (files, dirs, links). */
  entries: number;
  /** Things that could not be reproduced unprivileged (device nodes, fifos), as messages. */
  warnings: string[];
}

/** `extractRootfs` into a directory that already has contents (they could be removed or mixed in). */
export class RootfsNotEmptyError extends OciError {
  constructor(readonly dir: string) {
    super(
      'OCI_ROOTFS_NOT_EMPTY',
      `${dir} is not empty: a rootfs is only unpacked into a new or empty directory`,
      {
        hint: 'name a directory that does not exist yet, or empty it first',
      },
    );
  }
}

/** AUFS bookkeeping names (`.wh..wh.plnk`, `.wh..wh.aufs`): not whiteouts, never extracted. */
const AUFS_META = `${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`;

/**
 * Metadata calls are synchronous: a layer is thousands of small entries, and each asynchronous call is a round trip
 * through libuv's thread pool, which on a busy machine cost more than the calls themselves (a Debian layer took ~3×
 * longer). File bodies are written as their chunks arrive.
 */
function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * chmod `host` (below `root`) only if it is still a real directory reached without any symlink: each
 * component from `root` down is lstat-ed. Returns false (nothing done) otherwise.
 */
async function chmodDirNoFollow(root: string, host: string, mode: number): Promise<boolean> {
  const rel = relative(root, host);
  if (rel === '' || rel.startsWith('..') || resolve(root, rel) !== host) return false;
  let p = root;
  for (const seg of rel.split(sep)) {
    p = join(p, seg);
    const st = lstatOrUndefined(p);
    if (!st?.isDirectory()) return false;
  }
  chmodSync(host, mode);
  return true;
}

async function removeChildrenExcept(dir: string, keep: Set<string>): Promise<void> {
  const st = await lstatOrUndefined(dir);
  if (!st?.isDirectory()) return;
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    if (keep.has(p)) {
      if ((await lstat(p)).isDirectory()) await removeChildrenExcept(p, keep);
      continue;
    }
    await rm(p, { recursive: true, force: true });
  }
}

/** Forget recorded directory modes at or below `host` (it was removed or replaced). */
function forget(dirModes: Map<string, number>, host: string) {
  dirModes.delete(host);
  for (const d of dirModes.keys()) if (d.startsWith(host + sep)) dirModes.delete(d);
}

/** A whiteout `<parent>/.wh.<name>`: remove `name` (a plain name) from the resolved parent directory. */
async function whiteout(root: string, rel: string, parentRel: string, name: string, where: string) {
  if (name === '' || name === '.' || name === '..')
    throw new UnsafePathError(rel, 'a whiteout must name one entry below its own directory', where);
  const parent = await resolveInRoot(root, parentRel, { followLast: true });
  return join(parent, name);
}

async function writeEntry(
  root: string,
  h: tar.Header,
  host: string,
  entry: Readable,
  where: string,
  dirModes: Map<string, number>,
): Promise<boolean> {
  switch (h.type) {
    case 'directory':
      mkdirSync(host, { recursive: true });
      dirModes.set(host, h.mode! & 0o7777);
      await chmodDirNoFollow(root, host, 0o700 | (h.mode! & 0o7777));
      return true;
    case 'file':
    case 'contiguous-file': {
      const fd = openSync(
        host,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      // The body is written chunk by chunk as it arrives, by this code alone: a write stream given the descriptor
      // would close it too when a failed body (a layer past its budget) destroys it, later, from the thread pool,
      // by then perhaps another file's or directory's descriptor of the same number (seen: a cleanup's scandir
      // failing with EBADF).
      try {
        fchmodSync(fd, h.mode! & 0o7777);
        for await (const chunk of entry) writeAll(fd, chunk as Buffer);
      } finally {
        closeSync(fd);
      }
      return true;
    }
    case 'symlink':
      symlinkSync(h.linkname ?? '', host);
      return true;
    case 'link': {
      // link(2) never follows a symlink target: a hardlink to a link links the link itself.
      const target = await resolveInRoot(root, cleanPath(h.linkname ?? '', `${where}: hardlink ${h.name}`));
      // A missing target: a clear error, not link(2)'s ENOENT (a link to a symlink links the symlink itself).
      if (!lstatSync(target, { throwIfNoEntry: false }))
        throw new HardlinkTargetError(h.name, h.linkname ?? '', where);
      linkSync(target, host);
      return true;
    }
    default:
      return false;
  }
}

/**
 * How whiteouts are kept when a layer is unpacked on its own (for an overlay of layers): `whiteout` marks a
 * name hidden in the layers below, `opaque` marks a directory whose lower contents are hidden.
 */
export interface WhiteoutMarkers {
  whiteout(path: string): Promise<void>;
  opaque(dir: string): Promise<void>;
}

interface ApplyOptions {
  markers?: WhiteoutMarkers;
  budget?: UnpackBudget;
}

async function applyLayer(
  root: string,
  layer: Layer,
  index: number,
  report: ExtractReport,
  dirModes: Map<string, number>,
  o: ApplyOptions = {},
) {
  const where = `layer ${index} (${await layer.digest()})`;
  const created = new Set<string>();
  // The folders entries went into (image path → host path), each resolved and made here: a real directory inside
  // the root. The next entry of a folder skips resolving its path component by component and making the folder
  // again (a layer of 150,000 files in a few hundred folders took 5 lstat calls and a mkdir per file). Emptied
  // whenever anything is removed or replaced: a directory may have become a symlink.
  const parents = new Map<string, string>();
  const extract = tar.extract();
  const src = uncompressed(layer);
  // Every uncompressed byte is hashed as it is unpacked: the layer's diff_id is checked once the stream has ended.
  const hashing = new HashingStream();
  const ended = new Promise<void>((res, rej) => {
    hashing.on('end', res);
    hashing.on('error', rej);
  });
  ended.catch(() => {}); // reported through the extraction when it fails first
  src.on('error', (e) => {
    hashing.destroy(e);
    extract.destroy(e);
  });
  // Past the budget, that is the error, whatever it makes fail next (a file being written loses its stream).
  let stopped: Error | undefined;
  watchBudget(hashing, o.budget, where, (e) => {
    stopped ??= e;
    src.destroy(e);
  });
  src.pipe(hashing).pipe(extract as unknown as NodeJS.WritableStream);
  let current: string | undefined;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      current = h.name;
      const rel = cleanPath(h.name, where);
      const base = rel.slice(rel.lastIndexOf('/') + 1);
      const parentRel = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
      if (rel === '' || (base.startsWith(AUFS_META) && base !== OPAQUE_MARKER)) {
        entry.resume();
        continue;
      }
      if (base === OPAQUE_MARKER) {
        const dir = await resolveInRoot(root, parentRel, { followLast: true });
        if (o.markers) {
          await mkdir(dir, { recursive: true });
          await o.markers.opaque(dir);
        } else {
          parents.clear();
          await removeChildrenExcept(dir, created);
        }
        entry.resume();
        continue;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const victim = await whiteout(root, rel, parentRel, base.slice(WHITEOUT_PREFIX.length), where);
        if (o.markers) {
          // Hides the name in the layers below; an entry of this layer by that name wins whatever the order.
          if (!created.has(victim) && !(await lstatOrUndefined(victim))) {
            await mkdir(resolve(victim, '..'), { recursive: true });
            await o.markers.whiteout(victim);
          }
        } else if (!created.has(victim)) {
          parents.clear();
          await rm(victim, { recursive: true, force: true });
          forget(dirModes, victim);
        }
        entry.resume();
        continue;
      }
      const folder = parents.get(parentRel);
      let host: string;
      if (folder === undefined) {
        host = await resolveInRoot(root, rel);
        const made = resolve(host, '..');
        mkdirSync(made, { recursive: true });
        parents.set(parentRel, made);
      } else host = join(folder, base);
      // A file or link is created with a call that fails if the name is taken (O_EXCL, symlink, link): only then
      // is the name looked at (a lookup of a missing name in a large folder cost as much as the creation). Other
      // entries look first.
      const replace = () => {
        const existing = lstatOrUndefined(host);
        if (!existing || (existing.isDirectory() && h.type === 'directory')) return false;
        parents.clear();
        forget(dirModes, host);
        return rm(host, { recursive: true, force: true }).then(() => true);
      };
      const exclusive =
        h.type === 'file' || h.type === 'contiguous-file' || h.type === 'symlink' || h.type === 'link';
      if (!exclusive) await replace();
      const write = () => writeEntry(root, h, host, entry as unknown as Readable, where, dirModes);
      let written: boolean;
      try {
        written = await write();
      } catch (err) {
        if (!exclusive || (err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await replace())) throw err;
        written = await write();
      }
      if (written) {
        created.add(host);
        report.entries++;
      } else report.warnings.push(`${where}: skipped ${h.type} ${rel} (needs privileges)`);
      if (h.type !== 'file' && h.type !== 'contiguous-file') entry.resume();
    }
    // The padding after the archive's end is hashed too (the extractor keeps reading it).
    await ended;
    const actual = hashing.digest();
    const expected = await layer.diffId();
    if (!actual.equals(expected))
      throw new DigestMismatchError(
        `${where}: uncompressed (diff_id)`,
        expected.toString(),
        actual.toString(),
      );
  } catch (err) {
    extract.destroy();
    src.destroy();
    if (stopped) throw stopped;
    if (err instanceof OciError) throw err;
    // A blob this user may not read, a full or read-only disk: said as what it is, not as a bad tar.
    if (MACHINE_ERRORS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    throw new InvalidTarError(`${where}: ${(err as Error).message}`, current, err);
  }
}

/** System errors about the machine (permissions, space, the disk), never about the archive being unpacked. */
const MACHINE_ERRORS = new Set(['EACCES', 'ENOSPC', 'EDQUOT', 'EROFS', 'EIO']);

/**
 * Extract `image`'s layers into `dir`: created if needed, refused (`RootfsNotEmptyError`) if it already
 * has contents. Returns what was done.
 */
export async function extractRootfs(
  image: Image,
  dir: string,
  o: { budget?: UnpackBudget } = {},
): Promise<ExtractReport> {
  const root = await emptyRoot(dir);
  const report: ExtractReport = { entries: 0, warnings: [] };
  const dirModes = new Map<string, number>();
  try {
    for (const [i, layer] of (await image.layers()).entries())
      await applyLayer(root, layer, i, report, dirModes, o);
  } catch (err) {
    // Past its budget, what was written goes: the space is given back (directory modes are not applied yet).
    if (err instanceof UnpackTooLargeError)
      for (const name of await readdir(root)) await rm(join(root, name), { recursive: true, force: true });
    throw err;
  }
  await applyDirModes(root, dirModes);
  return report;
}

/**
 * Extract one layer on its own into `dir` (created if needed, refused if not empty), for a stack of layers
 * under an overlay: its whiteouts are kept through `markers` instead of applied. Same protections as
 * `extractRootfs`, inside the layer's directory; its diff_id is verified.
 */
export async function extractLayer(
  layer: Layer,
  dir: string,
  o: { markers: WhiteoutMarkers; budget?: UnpackBudget; index?: number },
): Promise<ExtractReport> {
  const root = await emptyRoot(dir);
  const report: ExtractReport = { entries: 0, warnings: [] };
  const dirModes = new Map<string, number>();
  await applyLayer(root, layer, o.index ?? 0, report, dirModes, o);
  await applyDirModes(root, dirModes);
  return report;
}

async function emptyRoot(dir: string): Promise<string> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  if ((await readdir(root)).length > 0) throw new RootfsNotEmptyError(dir);
  return root;
}

/**
 * Directory modes last, deepest first, so read-only directories did not block their children; never through a
 * symlink that replaced a directory or one of its parents after its mode was recorded.
 */
async function applyDirModes(root: string, dirModes: Map<string, number>): Promise<void> {
  const dirs = [...dirModes.entries()].sort((a, b) => b[0].length - a[0].length);
  for (const [d, mode] of dirs) await chmodDirNoFollow(root, d, mode);
}
