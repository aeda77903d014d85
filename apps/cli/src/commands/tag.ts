/** `scratchpack tag SOURCE TARGET…`: give an image of the local store more names. */
import type { Command } from 'commander';
import { localStore, storeName } from '../image-ref.ts';
import { say } from '../safe-text.ts';

export function tagCommand(program: Command): void {
  program
    .command('tag')
    .description('add a name to an image in the local store (as docker tag)')
    .argument('<source>', 'a stored name or digest, e.g. hello or hello:latest')
    .argument('<target...>', 'the new names, e.g. hello:1.0 or ghcr.io/me/hello:1.0')
    .action(async (source: string, targets: string[]) => {
      for (const n of await localStore().tag(storeName(source), targets.map(storeName))) say(`tagged ${n}`);
    });
}
