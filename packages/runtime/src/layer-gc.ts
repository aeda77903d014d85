/**
 * Collection of the unpacked-layer cache: entries no image in the store uses any more are removed (`scratchpack
 * rmi`, `scratchpack gc`), never while a container uses them. A run holds a lease on the cache (oci's store
 * leases: a file naming its process, which no longer counts once the process is gone) that lists its layers,
 * taken before it looks for them. Collection moves an entry aside first and then reads the leases again, so an
 * entry a run has just leased is put back instead of removed.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type Lease, liveLeases, takeLease } from '@scratchpack/oci';
import { layersDir } from './rootfs-cache.ts';
import { removeTree, sweepDead } from './workspace.ts';

const KEY = /^[0-9a-f]{64}$/;
const PURPOSE = 'run ';

/** Lease the layers `keys` (diff_id hex) of the cache at `cacheDir` while a container uses them. */
export function leaseLayers(cacheDir: string, keys: readonly string[]): Promise<Lease> {
  return takeLease(cacheDir, `${PURPOSE}${keys.join(' ')}`);
}

/** The layer keys live leases of the cache hold. */
async function leasedKeys(cacheDir: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const path of await liveLeases(cacheDir)) {
    try {
      const { purpose } = JSON.parse(await readFile(path, 'utf8')) as { purpose?: unknown };
      if (typeof purpose === 'string' && purpose.startsWith(PURPOSE))
        for (const k of purpose.slice(PURPOSE.length).split(' ')) keys.add(k);
    } catch {
      // being written or released: a lease being written names layers not looked for yet
    }
  }
  return keys;
}

export interface LayerCollection {
  /** Entries removed (layers, and whole-image entries of earlier versions). */
  removed: number;
  /** Unused entries kept because a running container leases them. */
  inUse: number;
}

/** Remove the cache's layer entries whose key is not in `keep` and that no live lease holds. */
export async function collectLayers(cacheDir: string, keep: ReadonlySet<string>): Promise<LayerCollection> {
  const dir = layersDir(cacheDir);
  const result: LayerCollection = { removed: 0, inUse: 0 };
  await sweepDead(dir, /^\.(?:tmp|gc)-(\d+)-/);
  // Whole-image entries of the per-image cache this one replaced: nothing uses them.
  for (const name of await readdir(cacheDir).catch(() => [] as string[]))
    if (KEY.test(name)) {
      removeTree(join(cacheDir, name));
      result.removed++;
    }
  const unused = (await readdir(dir).catch(() => [] as string[])).filter((n) => KEY.test(n) && !keep.has(n));
  if (unused.length === 0) return result;
  let leased = await leasedKeys(cacheDir);
  for (const name of unused) {
    if (leased.has(name)) {
      result.inUse++;
      continue;
    }
    const aside = join(dir, `.gc-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(join(dir, name), aside);
    } catch {
      continue; // removed by another collection meanwhile
    }
    leased = await leasedKeys(cacheDir);
    if (leased.has(name)) {
      await rename(aside, join(dir, name)).catch(() => removeTree(aside));
      result.inUse++;
      continue;
    }
    removeTree(aside);
    result.removed++;
  }
  return result;
}
