/**
 * `scratchpack save NAME… [-o file.tar]`: images of the local store as one OCI archive (with Docker's
 * manifest.json too), to a file (temp + rename) or — without -o, when it is not a terminal — to stdout.
 */
import { resolve } from 'node:path';
import { type ImageStore, parseSourceDateEpoch, writeArchive, writeArchiveTo } from '@scratchpack/oci';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { localStore, storeName } from '../image-ref.ts';
import { runSignal } from '../interrupt.ts';
import { bytes } from '../output.ts';
import { warn } from '../safe-text.ts';

export function saveCommand(program: Command): void {
  program
    .command('save')
    .description('write images of the local store as an OCI archive (docker save, in OCI form)')
    .argument('<name...>', 'stored names, e.g. hello focal:latest')
    .option(
      '-o, --output <file>',
      'the archive to write (default: standard output, when it is not a terminal)',
    )
    .action(async (names: string[], opts: { output?: string }) => {
      const store = localStore();
      // The lease keeps a concurrent rmi's collection away from the blobs being archived.
      const lease = await store.lease('save');
      try {
        await save(store, names, opts);
      } finally {
        await lease.release();
      }
    });
}

async function save(store: ImageStore, names: string[], opts: { output?: string }): Promise<void> {
  const found = await Promise.all(names.map((n) => store.find(storeName(n))));
  const manifests = [...new Map(found.map((f) => [f.name, f.descriptor])).values()];
  const archiveOpts = {
    manifests,
    sourceDateEpoch: parseSourceDateEpoch(process.env.SOURCE_DATE_EPOCH),
    signal: runSignal(),
  };
  if (opts.output) {
    const size = await writeArchive(store.dir, resolve(opts.output), archiveOpts);
    warn(`saved ${found.map((f) => f.name).join(', ')} to ${opts.output} (${bytes(size)})\n`);
    return;
  }
  if (process.stdout.isTTY) {
    throw new UsageError(
      'refusing to write an archive to a terminal',
      `give a file (-o ${names[0]?.replace(/[/:]/g, '_')}.tar) or redirect: scratchpack save ${names.join(' ')} > image.tar`,
    );
  }
  await writeArchiveTo(store.dir, process.stdout, archiveOpts);
}
