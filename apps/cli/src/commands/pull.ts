import { parseImageName, parseLayoutRef, readLayout } from '@scratchpack/oci';
import { type PullEvent, pull } from '@scratchpack/registry';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { imageRef, localStore } from '../layout-ref.ts';
import { bytes } from '../output.ts';
import { checkOutputPath } from '../output-path.ts';
import { withProgress } from '../progress.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { pullReferrers, subjectDigests } from '../supply/referrers.ts';

/** The local-store name to pull into: the reference's own name without a destination, else a stored name. */
function storeNameFor(source: string, dest: string | undefined): string | undefined {
  if (dest !== undefined) return imageRef(dest).kind === 'store' ? parseImageName(dest).familiar : undefined;
  if (source.includes('@'))
    throw new UsageError(
      `${source} names a digest: say what to call it`,
      `e.g. scratchpack pull ${source} myimage:pinned (or a layout: ./dir:tag)`,
    );
  return parseImageName(source).familiar;
}

/** A layout destination as written, without an `oci:` prefix. */
function imageRefDir(dest: string): string {
  return dest.startsWith('oci:') ? dest.slice(4) : dest;
}

export function pullCommand(program: Command): void {
  const cmd = program
    .command('pull')
    .description(
      'pull an image or multi-arch index from a registry into the local store or an OCI layout, verifying every digest',
    )
    .argument('<reference>', 'registry/repository[:tag|@digest]')
    .argument(
      '[image]',
      'a name in the local store (default: the reference, as docker pull) or an OCI layout to write, created if needed (./out:tag, dist/oci:tag)',
    )
    .option('--platform <platform>', 'keep only this platform of a multi-arch index')
    .option('--referrers', 'also pull the SBOMs, provenance and signatures stored beside the image')
    .option('--json', 'print the summary as JSON');
  addRegistryFlags(cmd).action(
    async (
      source: string,
      dest: string | undefined,
      opts: RegistryFlags & { platform?: string; json?: boolean; referrers?: boolean },
    ) => {
      const storeName = storeNameFor(source, dest);
      const store = storeName ? localStore() : undefined;
      const { dir, tag } = storeName ? { dir: '', tag: 'pulled' } : parseLayoutRef(imageRefDir(dest!));
      if (!storeName) await checkOutputPath(dir, 'layout', 'destination');
      const client = await clientOptions(opts);
      const pullInto = (into: string) =>
        withProgress('pull', (bar) =>
          pull(source, into, {
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
      const result = store
        ? await store.stage(async (staged) => {
            const r = await pullInto(staged);
            await store.put(await (await readLayout(staged)).resolve(r.tag), [storeName!], {
              signal: client.signal,
            });
            return { ...r, tag: storeName };
          })
        : await pullInto(dir);
      let referrers = 0;
      if (opts.referrers) {
        const into = store ? store.dir : dir;
        const pulled = store
          ? (await store.open(storeName!)).subject
          : await (await readLayout(dir)).resolve(result.tag);
        const digests = await subjectDigests(pulled);
        referrers = (await pullReferrers(source, into, digests, client)).count;
      }
      if (opts.json) {
        console.log(JSON.stringify({ ...result, ...(opts.referrers ? { referrers } : {}) }, null, 2));
        return;
      }
      console.log(
        `pulled ${result.reference}${result.platform ? ` (${result.platform})` : ''} into ${storeName ?? `${dir}:${result.tag}`}`,
      );
      console.log(
        `blobs: ${result.blobsFetched} fetched (${bytes(result.bytesFetched)}), ${result.blobsSkipped} already there`,
      );
      if (opts.referrers) console.log(`referrers: ${referrers}`);
      console.log(`digest: ${result.digest}`);
    },
  );
}
