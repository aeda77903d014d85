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
import { constants } from 'node:fs';
import { chmod, link, lstat, mkdir, open, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

const MAX_SYMLINKS = 40;
/** AUFS bookkeeping names (`.wh..wh.plnk`, `.wh..wh.aufs`): not whiteouts, never extracted. */
const AUFS_META = `${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`;

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch {
    return undefined;
  }
}

/**
 * The host path of image path `rel` inside `root`, following symlinks in the PARENT components as a
 * chroot would (absolute targets start at `root`, `..` stops at `root`). The last component is not
 * followed unless `followLast`. The result is always `root` or below it.
 */
export async function resolveInRoot(
  root: string,
  rel: string,
  opts: { followLast?: boolean } = {},
): Promise<string> {
  const pending = rel.split('/').filter((s) => s && s !== '.');
  const last = opts.followLast ? undefined : pending.pop();
  const done: string[] = [];
  let hops = 0;
  while (pending.length) {
    const seg = pending.shift()!;
    if (seg === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, seg);
    const st = await lstatOrUndefined(host);
    if (st?.isSymbolicLink()) {
      if (++hops > MAX_SYMLINKS) throw new UnsafePathError(rel, 'too many levels of symbolic links');
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((s) => s && s !== '.'));
      continue;
    }
    done.push(seg);
  }
  if (last === undefined) return join(root, ...done);
  if (last === '..') throw new UnsafePathError(rel, '`..` is not allowed');
  return join(root, ...done, last);
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
    const st = await lstatOrUndefined(p);
    if (!st?.isDirectory()) return false;
  }
  await chmod(host, mode);
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
      await mkdir(host, { recursive: true });
      dirModes.set(host, h.mode! & 0o7777);
      await chmodDirNoFollow(root, host, 0o700 | (h.mode! & 0o7777));
      return true;
    case 'file':
    case 'contiguous-file': {
      const fh = await open(
        host,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        await fh.chmod(h.mode! & 0o7777);
      } catch (err) {
        await fh.close();
        throw err;
      }
      await pipeline(entry, fh.createWriteStream());
      return true;
    }
    case 'symlink':
      await symlink(h.linkname ?? '', host);
      return true;
    case 'link': {
      // link(2) never follows a symlink target: a hardlink to a link links the link itself.
      const target = await resolveInRoot(root, cleanPath(h.linkname ?? '', `${where}: hardlink ${h.name}`));
      // A missing target: a clear error, not link(2)'s ENOENT (a link to a symlink links the symlink itself).
      if (!(await lstat(target).catch(() => undefined)))
        throw new HardlinkTargetError(h.name, h.linkname ?? '', where);
      await link(target, host);
      return true;
    }
    default:
      return false;
  }
}

async function applyLayer(
  root: string,
  layer: Layer,
  index: number,
  report: ExtractReport,
  dirModes: Map<string, number>,
) {
  const where = `layer ${index} (${await layer.digest()})`;
  const created = new Set<string>();
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
        await removeChildrenExcept(dir, created);
        entry.resume();
        continue;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const victim = await whiteout(root, rel, parentRel, base.slice(WHITEOUT_PREFIX.length), where);
        if (!created.has(victim)) {
          await rm(victim, { recursive: true, force: true });
          forget(dirModes, victim);
        }
        entry.resume();
        continue;
      }
      const host = await resolveInRoot(root, rel);
      await mkdir(resolve(host, '..'), { recursive: true });
      const existing = await lstatOrUndefined(host);
      if (existing && !(existing.isDirectory() && h.type === 'directory')) {
        await rm(host, { recursive: true, force: true });
        forget(dirModes, host);
      }
      if (await writeEntry(root, h, host, entry as unknown as Readable, where, dirModes)) {
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
    if (err instanceof OciError) throw err;
    throw new InvalidTarError(`${where}: ${(err as Error).message}`, current, err);
  }
}

/**
 * Extract `image`'s layers into `dir`: created if needed, refused (`RootfsNotEmptyError`) if it already
 * has contents. Returns what was done.
 */
export async function extractRootfs(image: Image, dir: string): Promise<ExtractReport> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  if ((await readdir(root)).length > 0) throw new RootfsNotEmptyError(dir);
  const report: ExtractReport = { entries: 0, warnings: [] };
  const dirModes = new Map<string, number>();
  for (const [i, layer] of (await image.layers()).entries())
    await applyLayer(root, layer, i, report, dirModes);
  // Directory modes last, deepest first, so read-only directories did not block their children; never
  // through a symlink that replaced a directory or one of its parents after its mode was recorded.
  const dirs = [...dirModes.entries()].sort((a, b) => b[0].length - a[0].length);
  for (const [d, mode] of dirs) await chmodDirNoFollow(root, d, mode);
  return report;
}
