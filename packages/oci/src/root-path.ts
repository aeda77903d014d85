/**
 * Image paths resolved as a chroot would resolve them: symlinks in the parent components followed inside the
 * image (absolute targets start at its root, `..` stops there), the last component followed only on request.
 * The image is seen through `lookup` (one directory, or a stack of layers), so the same rules serve an unpacked
 * rootfs and a layer stack under an overlay.
 */
import type { Stats } from 'node:fs';
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { UnsafePathError } from './errors.ts';

const MAX_SYMLINKS = 40;

/** How a resolver sees the image: an entry's lstat and a symlink's target, by symlink-free components. */
export interface ImageLookup {
  lstat(parts: readonly string[]): Promise<Stats | undefined>;
  readlink(parts: readonly string[]): Promise<string>;
}

/** The lookup of an image unpacked into one directory (synchronous calls: see `rootfs.ts`). */
export function dirLookup(root: string): ImageLookup {
  return {
    lstat: async (parts) => {
      try {
        return lstatSync(join(root, ...parts), { throwIfNoEntry: false });
      } catch {
        return undefined;
      }
    },
    readlink: async (parts) => readlinkSync(join(root, ...parts)),
  };
}

/** The symlink-free components of image path `rel` (see the file comment). */
export async function resolveParts(
  look: ImageLookup,
  rel: string,
  opts: { followLast?: boolean } = {},
): Promise<string[]> {
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
    const st = await look.lstat([...done, seg]);
    if (st?.isSymbolicLink()) {
      if (++hops > MAX_SYMLINKS) throw new UnsafePathError(rel, 'too many levels of symbolic links');
      const target = await look.readlink([...done, seg]);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((s) => s && s !== '.'));
      continue;
    }
    done.push(seg);
  }
  if (last === undefined) return done;
  if (last === '..') throw new UnsafePathError(rel, '`..` is not allowed');
  return [...done, last];
}

/**
 * The host path of image path `rel` inside `root` (see the file comment). The result is always `root` or below it.
 */
export async function resolveInRoot(
  root: string,
  rel: string,
  opts: { followLast?: boolean } = {},
): Promise<string> {
  return join(root, ...(await resolveParts(dirLookup(root), rel, opts)));
}
