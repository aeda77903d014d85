/**
 * `scratchpack rmi NAME…`: remove names from the local store; blobs no name reaches any more are deleted.
 * `scratchpack gc`: delete the blobs no name reaches (those an `rmi` left while another process used the store).
 */
import type { RemoveResult } from '@scratchpack/oci';
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
      const result = await localStore().remove(names.map(storeName));
      if (opts.json) {
        sayJson(result);
        return;
      }
      for (const n of result.removed) say(`untagged ${n}`);
      say(collected(result));
    });
  program
    .command('gc')
    .description(
      'delete the blobs of the local store that no image name reaches (waits for no one; skips while others use the store)',
    )
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const result = await localStore().gc();
      if (opts.json) sayJson(result);
      else say(collected(result));
    });
}
