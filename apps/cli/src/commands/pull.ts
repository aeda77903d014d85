import { parseLayoutRef, readLayout } from '@scratchpack/oci';
import { type PullEvent, pull } from '@scratchpack/registry';
import type { Command } from 'commander';
import { bytes } from '../output.ts';
import { withProgress } from '../progress.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { pullReferrers, subjectDigests } from '../supply/referrers.ts';

export function pullCommand(program: Command): void {
  const cmd = program
    .command('pull')
    .description(
      'pull an image or multi-arch index from a registry into an OCI layout, verifying every digest',
    )
    .argument('<reference>', 'registry/repository[:tag|@digest]')
    .argument('<layout[:tag]>', 'the OCI layout to write (created if needed) and the tag to give it')
    .option('--platform <platform>', 'keep only this platform of a multi-arch index')
    .option('--referrers', 'also pull the SBOMs, provenance and signatures stored beside the image')
    .option('--json', 'print the summary as JSON');
  addRegistryFlags(cmd).action(
    async (
      source: string,
      dest: string,
      opts: RegistryFlags & { platform?: string; json?: boolean; referrers?: boolean },
    ) => {
      const { dir, tag } = parseLayoutRef(dest);
      const client = await clientOptions(opts);
      const result = await withProgress('pull', (bar) =>
        pull(source, dir, {
          ...client,
          ...(tag ? { tag } : {}),
          ...(opts.platform ? { platform: opts.platform } : {}),
          onProgress: (e: PullEvent) => {
            if (e.type !== 'blob-done') return;
            bar.add(e.digest, e.size);
            bar.done(e.digest);
          },
        }),
      );
      let referrers = 0;
      if (opts.referrers) {
        const pulled = await (await readLayout(dir)).resolve(result.tag);
        const digests = await subjectDigests(pulled);
        referrers = (await pullReferrers(source, dir, digests, client)).count;
      }
      if (opts.json) {
        console.log(JSON.stringify({ ...result, ...(opts.referrers ? { referrers } : {}) }, null, 2));
        return;
      }
      console.log(
        `pulled ${result.reference}${result.platform ? ` (${result.platform})` : ''} into ${dir}:${result.tag}`,
      );
      console.log(
        `blobs: ${result.blobsFetched} fetched (${bytes(result.bytesFetched)}), ${result.blobsSkipped} already there`,
      );
      if (opts.referrers) console.log(`referrers: ${referrers}`);
      console.log(`digest: ${result.digest}`);
    },
  );
}
