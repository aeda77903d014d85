/**
 * Start fast: an image's layers are unpacked once into a cache entry keyed by their diff_ids (the chain, in order),
 * written to a temporary name and renamed, so an entry is complete or absent; each container is an overlay of that
 * entry (read-only lower) and a private upper directory (kernel overlayfs in the container's user namespace), so
 * `--rm` removes only the upper. `extractRootfs`'s hostile-layer protections apply as it unpacks.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, stat } from 'node:fs/promises';
import { homedir, release } from 'node:os';
import { join } from 'node:path';
import {
  type ExtractReport,
  extractRootfs,
  type Image,
  sha256,
  trackTemp,
  untrackTemp,
} from '@scratchpack/oci';
import { giveTree, removeTree, sweepDead } from './workspace.ts';

/**
 * Where unpacked images are kept: `$SCRATCHPACK_ROOTFS_CACHE`, else for root `/var/cache/scratchpack/rootfs` (the
 * unprivileged user containers run as must reach it, which /root forbids), else
 * `$XDG_CACHE_HOME/scratchpack/rootfs`.
 */
export function rootfsCacheDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): string {
  if (env.SCRATCHPACK_ROOTFS_CACHE) return env.SCRATCHPACK_ROOTFS_CACHE;
  if (uid === 0) return '/var/cache/scratchpack/rootfs';
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'scratchpack', 'rootfs');
}

/** The cache key of an image's filesystem: sha256 over its layers' diff_ids, base first. */
export async function rootfsKey(image: Image): Promise<string> {
  const ids = await Promise.all((await image.layers()).map(async (l) => (await l.diffId()).toString()));
  return sha256(ids.join('\n')).hex;
}

/** Whether this kernel mounts overlayfs inside a user namespace (Linux 5.11 and later). */
export function userOverlaySupported(kernel: string = release()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 5 || (major === 5 && minor >= 11);
}

/**
 * The unpacked filesystem of `image` in `cacheDir` (unpacked now when absent; `hit` says which). `owner`: the
 * host ids containers run as (a root caller's `nobody`), who must own the files for copy-up.
 */
export async function cachedRootfs(
  image: Image,
  o: { cacheDir: string; owner?: { uid: number; gid: number } },
): Promise<{ path: string; hit: boolean; report?: ExtractReport }> {
  const path = join(o.cacheDir, await rootfsKey(image));
  if ((await stat(path).catch(() => undefined))?.isDirectory()) return { path, hit: true };
  await mkdir(o.cacheDir, { recursive: true, mode: 0o755 });
  // Half-unpacked entries of runs that were killed go first.
  await sweepDead(o.cacheDir, /^\.tmp-(\d+)-/);
  const tmp = trackTemp(join(o.cacheDir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`));
  try {
    const report = await extractRootfs(image, tmp);
    await chmod(tmp, 0o755);
    if (o.owner) giveTree(tmp, o.owner);
    try {
      await rename(tmp, path);
    } catch (err) {
      // Another run finished the same entry first: use it.
      if (!(await stat(path).catch(() => undefined))?.isDirectory()) throw err;
      removeTree(tmp);
    }
    return { path, hit: false, report };
  } catch (err) {
    removeTree(tmp);
    throw err;
  } finally {
    untrackTemp(tmp);
  }
}
