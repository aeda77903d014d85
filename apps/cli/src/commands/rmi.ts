/** `scratchpack rmi NAME…`: remove names from the local store; blobs no name reaches any more are deleted. */
import type { Command } from 'commander';
import { localStore } from '../layout-ref.ts';
import { bytes } from '../output.ts';

export function rmiCommand(program: Command): void {
  program
    .command('rmi')
    .description('remove images from the local store (their blobs too, unless another image uses them)')
    .argument('<name...>', 'names (hello, hello:1.0) or digests, as `scratchpack images` lists them')
    .option('--json', 'print JSON')
    .action(async (names: string[], opts: { json?: boolean }) => {
      const result = await localStore().remove(names);
      if (opts.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      for (const n of result.removed) console.log(`untagged ${n}`);
      console.log(`deleted ${result.blobsRemoved} blobs (${bytes(result.bytesFreed)})`);
    });
}
