/**
 * Apply an image's layers, base first, into a directory (used by `scratchpack run`). Safe: every path is
 * resolved inside the root — symlinks are followed as if the root were `/`, `..` is refused — and
 * whiteouts (`.wh.<name>`, `.wh..wh..opq`) remove what lower layers put there. Unprivileged: ownership and
 * device nodes are not reproduced; they are reported as warnings.
 */
import { createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { InvalidTarError, OciError, UnsafePathError } from './errors.ts';
import type { Image } from './image.ts';
import { type Layer, uncompressed } from './layer.ts';
import { cleanPath, OPAQUE_MARKER, WHITEOUT_PREFIX } from './layer-entries.ts';

export interface ExtractReport {
  /** Entries written (files, dirs, links). */
  entries: number;
  /** Things that could not be reproduced unprivileged (device nodes, fifos), as messages. */
  warnings: string[];
}

const MAX_SYMLINKS = 40;

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
 * followed unless `followLast`.
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
  src.on('error', (e) => extract.destroy(e));
  src.pipe(extract as unknown as NodeJS.WritableStream);
  let current: string | undefined;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      current = h.name;
      const rel = cleanPath(h.name, where);
      const base = rel.slice(rel.lastIndexOf('/') + 1);
      const parentRel = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
      if (rel === '') {
        entry.resume();
        continue;
      }
      if (base === OPAQUE_MARKER) {
        await removeChildrenExcept(await resolveInRoot(root, parentRel, { followLast: true }), created);
        entry.resume();
        continue;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const victim = await resolveInRoot(root, posix.join(parentRel, base.slice(WHITEOUT_PREFIX.length)));
        if (!created.has(victim)) await rm(victim, { recursive: true, force: true });
        entry.resume();
        continue;
      }
      const host = await resolveInRoot(root, rel);
      await mkdir(resolve(host, '..'), { recursive: true });
      const existing = await lstatOrUndefined(host);
      if (existing && !(existing.isDirectory() && h.type === 'directory'))
        await rm(host, { recursive: true, force: true });
      switch (h.type) {
        case 'directory':
          await mkdir(host, { recursive: true });
          dirModes.set(host, h.mode & 0o7777);
          await chmod(host, 0o755 | (h.mode & 0o7777));
          break;
        case 'file':
        case 'contiguous-file':
          await pipeline(entry, createWriteStream(host, { mode: 0o600 }));
          await chmod(host, h.mode & 0o7777);
          break;
        case 'symlink':
          await symlink(h.linkname ?? '', host);
          break;
        case 'link': {
          const target = await resolveInRoot(
            root,
            cleanPath(h.linkname ?? '', `${where}: hardlink ${h.name}`),
          );
          await link(target, host);
          break;
        }
        default:
          report.warnings.push(`${where}: skipped ${h.type} ${rel} (needs privileges)`);
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') entry.resume();
      created.add(host);
      report.entries++;
    }
  } catch (err) {
    extract.destroy();
    src.destroy();
    if (err instanceof OciError) throw err;
    throw new InvalidTarError(`${where}: ${(err as Error).message}`, current, err);
  }
}

/** Extract `image`'s layers into `dir` (created if needed). Returns what was done. */
export async function extractRootfs(image: Image, dir: string): Promise<ExtractReport> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const report: ExtractReport = { entries: 0, warnings: [] };
  const dirModes = new Map<string, number>();
  for (const [i, layer] of (await image.layers()).entries())
    await applyLayer(root, layer, i, report, dirModes);
  // Directory modes last, deepest first, so read-only directories did not block their children.
  const dirs = [...dirModes.entries()].sort((a, b) => b[0].length - a[0].length);
  for (const [d, mode] of dirs) if (await lstatOrUndefined(d)) await chmod(d, mode);
  return report;
}
