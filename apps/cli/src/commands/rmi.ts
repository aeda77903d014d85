/**
 * `scratchpack rmi NAME…`: remove names from the local store; blobs no name reaches any more are deleted.
 * `scratchpack gc`: delete the blobs no name reaches (those an `rmi` left while another process used the store).
 * Both also remove the unpacked layers of `run`'s cache that no image of the store uses, except those of
 * running containers.
 */
import { layoutDiffIds, type RemoveResult } from '@scratchpack/oci';
import { collectLayers, type LayerCollection, rootfsCacheDir } from '@scratchpack/runtime';
import type { Command } from 'commander';
import { localStore, storeName } from '../image-ref.ts';
import { bytes } from '../output.ts';
import { say, sayJson } from '../safe-text.ts';

function collected(r: Omit<RemoveResult, 'removed'>): string {
  const deferred = r.blobsDeferred
    ? `; ${r.blobsDeferred} unused blobs left while another scratchpack reads or writes the store (run \`scratchpack gc\` later)`
    : '';
  return `deleted ${r.blobsRemoved} blobs (${bytes(r.bytesFreed)})${deferred}`;
}

/** The unpacked layers no image of the store uses (kept while a container uses them). */
async function collectCache(storeDir: string): Promise<LayerCollection> {
  return collectLayers(rootfsCacheDir(), await layoutDiffIds(storeDir));
}

function layersLine(c: LayerCollection): string {
  const kept = c.inUse ? `; ${c.inUse} unused ones kept while containers use them` : '';
  return `deleted ${c.removed} unpacked layers${kept}`;
}

export function rmiCommand(program: Command): void {
  program
    .command('rmi')
    .description('remove images from the local store (their blobs too, unless another image uses them)')
    .argument(
      '<name...>',
      'names (hello, hello:1.0, store:hello) or digests, as `scratchpack images` lists them',
    )
    .option('--json', 'print JSON')
    .action(async (names: string[], opts: { json?: boolean }) => {
      const store = localStore();
      const result = await store.remove(names.map(storeName));
      const layers = await collectCache(store.dir);
      if (opts.json) {
        sayJson({ ...result, layers });
        return;
      }
      for (const n of result.removed) say(`untagged ${n}`);
      say(collected(result));
      say(layersLine(layers));
    });
  program
    .command('gc')
    .description(
      'delete the blobs of the local store that no image name reaches (waits for no one; skips while others use the store)',
    )
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const store = localStore();
      const result = await store.gc();
      const layers = await collectCache(store.dir);
      if (opts.json) sayJson({ ...result, layers });
      else {
        say(collected(result));
        say(layersLine(layers));
      }
    });
}
