/**
 * Start fast: each layer is unpacked once into a cache entry keyed by its diff_id (`layers/<hex>`: verified while
 * it is unpacked, written to a temporary name and renamed, so an entry is complete or absent) and shared by every
 * image that has it. A container is an overlay of its image's entries (read-only lowers, in order) and a private
 * upper directory (kernel overlayfs in the container's user namespace), so `--rm` removes only the upper. Whiteouts
 * are kept the way overlayfs reads them in a user namespace: a 0/0 character device hides a name of the layers
 * below (mknod of 0/0 needs no privilege since Linux 5.8), xattr `user.overlay.opaque=y` makes a directory opaque.
 * `extractLayer`'s hostile-layer protections apply inside each layer's directory.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, stat } from 'node:fs/promises';
import { homedir, release } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type ExtractReport,
  extractLayer,
  type Image,
  trackTemp,
  unpackBudget,
  untrackTemp,
  type WhiteoutMarkers,
} from '@scratchpack/oci';
import { OPAQUE_XATTR, xattr } from './image-view.ts';
import { giveTree, removeTree, sweepDead } from './workspace.ts';

const run = promisify(execFile);

/**
 * Where unpacked layers are kept: `$SCRATCHPACK_ROOTFS_CACHE`, else for root `/var/cache/scratchpack/rootfs` (the
 * unprivileged user containers run as must reach it, which /root forbids), else
 * `$XDG_CACHE_HOME/scratchpack/rootfs`.
 */
export function rootfsCacheDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): string {
  if (env.SCRATCHPACK_ROOTFS_CACHE) return env.SCRATCHPACK_ROOTFS_CACHE;
  if (uid === 0) return '/var/cache/scratchpack/rootfs';
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'scratchpack', 'rootfs');
}

/** The directory of the layer entries in a cache. */
export function layersDir(cacheDir: string): string {
  return join(cacheDir, 'layers');
}

/** Whether this kernel mounts overlayfs inside a user namespace (Linux 5.11 and later). */
export function userOverlaySupported(kernel: string = release()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 5 || (major === 5 && minor >= 11);
}

/** overlayfs's whiteouts in a user namespace (`userxattr`). */
export const overlayMarkers: WhiteoutMarkers = {
  whiteout: async (path) => {
    await run('mknod', [path, 'c', '0', '0']);
  },
  opaque: async (dir) => (await xattr()).setAttribute(dir, OPAQUE_XATTR, 'y'),
};

/** The cache keys (diff_id hex) of `image`'s layers, base first. */
export async function layerKeys(image: Image): Promise<string[]> {
  return Promise.all((await image.layers()).map(async (l) => (await l.diffId()).hex));
}

export interface CachedLayers {
  /** The layers' directories, base first (a layer the image has twice: once, at its topmost place). */
  layers: string[];
  /** How many were unpacked now (the rest were in the cache). */
  unpacked: number;
  report: ExtractReport;
}

/**
 * The unpacked layers of `image` in `cacheDir` (each unpacked now when absent). `owner`: the host ids containers
 * run as (a root caller's `nobody`), who must own the files for copy-up. `maxBytes`: `--max-size`, checked with
 * the free space of the cache's filesystem before each layer (it stops with `UnpackTooLargeError`, removing what
 * it wrote).
 */
export async function cachedLayers(
  image: Image,
  o: { cacheDir: string; owner?: { uid: number; gid: number }; maxBytes?: number },
): Promise<CachedLayers> {
  const dir = layersDir(o.cacheDir);
  const layers = await image.layers();
  const paths: string[] = [];
  const report: ExtractReport = { entries: 0, warnings: [] };
  let unpacked = 0;
  let swept = false;
  for (const [i, layer] of layers.entries()) {
    const path = join(dir, (await layer.diffId()).hex);
    paths.push(path);
    if ((await stat(path).catch(() => undefined))?.isDirectory()) continue;
    if (!swept) {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      // The user containers run as must reach the entries (a umask may have narrowed the folders); not ours: as is.
      for (const d of [o.cacheDir, dir]) await chmod(d, 0o755).catch(() => {});
      // Half-unpacked entries of runs that were killed go first.
      await sweepDead(dir, /^\.tmp-(\d+)-/);
      swept = true;
    }
    const tmp = trackTemp(join(dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`));
    try {
      const budget = await unpackBudget(dir, o.maxBytes);
      const r = await extractLayer(layer, tmp, { markers: overlayMarkers, budget, index: i });
      report.entries += r.entries;
      report.warnings.push(...r.warnings);
      await chmod(tmp, 0o755);
      if (o.owner) giveTree(tmp, o.owner);
      try {
        await rename(tmp, path);
      } catch (err) {
        // Another run finished the same entry first: use it.
        if (!(await stat(path).catch(() => undefined))?.isDirectory()) throw err;
        removeTree(tmp);
      }
      unpacked++;
    } catch (err) {
      removeTree(tmp);
      throw err;
    } finally {
      untrackTemp(tmp);
    }
  }
  return { layers: topmostOnce(paths), unpacked, report };
}

/**
 * A layer stack with each directory once, at its topmost place: overlayfs refuses a lower directory twice, and the
 * upper occurrence of a layer already shows (and hides) all that its lower one would.
 */
export function topmostOnce(paths: readonly string[]): string[] {
  return paths.filter((p, i) => paths.indexOf(p, i + 1) === -1);
}
