import { isImageIndex } from '@scratchpack/oci';
import { type PushEvent, parseReference, push } from '@scratchpack/registry';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { imageRef, openLayoutRef } from '../layout-ref.ts';
import { bytes } from '../output.ts';
import { withProgress } from '../progress.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { layoutArtifacts } from '../supply/referrers.ts';

const collect = (v: string, acc: string[]) => [...acc, v];

/** `push NAME` without a reference: a stored name pushes to itself (`ghcr.io/me/hello:1.0`). */
function storedReference(src: string): string {
  if (imageRef(src).kind !== 'store') {
    throw new UsageError(
      `${src} is an OCI layout: say where to push it`,
      `e.g. scratchpack push ${src} ghcr.io/me/hello:1.0.0`,
    );
  }
  return src;
}

export function pushCommand(program: Command): void {
  const cmd = program
    .command('push')
    .description(
      'push an image or multi-arch index (stored or in an OCI layout) to a registry (blobs, manifests, index, then tags)',
    )
    .argument('<image>', 'a name in the local store (hello) or an OCI layout and tag (dist/oci:latest)')
    .argument(
      '[reference]',
      'registry/repository[:tag], e.g. ghcr.io/me/hello:1.0.0 or 127.0.0.1:5000/hello (default: the stored name, as docker push)',
    )
    .option('-t, --tag <tag>', 'also point this tag at the pushed image (repeatable)', collect, [])
    .option('--from <repository>', 'a repository on the same registry to mount blobs from')
    .option('--chunk-size <bytes>', 'PATCH chunk size for large blobs')
    .option('--no-referrers', 'leave the SBOMs, provenance and signatures stored beside the image behind')
    .option('--json', 'print the summary as JSON');
  addRegistryFlags(cmd).action(
    async (
      src: string,
      reference: string | undefined,
      opts: RegistryFlags & {
        tag: string[];
        from?: string;
        chunkSize?: string;
        json?: boolean;
        referrers: boolean;
      },
    ) => {
      const target = reference ?? storedReference(src);
      const { subject, layout } = await openLayoutRef(src);
      const referrers = opts.referrers ? await layoutArtifacts(layout, subject) : [];
      let fallbackTags: string[] = [];
      const client = await clientOptions(opts);
      const chunkSize = opts.chunkSize === undefined ? undefined : Number(opts.chunkSize);
      if (chunkSize !== undefined && (!Number.isSafeInteger(chunkSize) || chunkSize < 1)) {
        throw new UsageError(
          `--chunk-size ${opts.chunkSize}: expected a positive number of bytes`,
          'e.g. --chunk-size 8388608',
        );
      }
      const result = await withProgress('push', (bar) =>
        push(subject, parseReference(target), {
          ...client,
          tags: opts.tag,
          ...(opts.from ? { from: opts.from } : {}),
          ...(chunkSize !== undefined ? { chunkSize } : {}),
          referrers,
          onProgress: (e: PushEvent) => {
            if (e.type === 'referrers-done') fallbackTags = e.fallbackTags;
            if (e.type === 'blob-start') bar.add(e.digest, e.size);
            else if (e.type === 'blob-progress') bar.update(e.digest, e.bytes);
            else if (e.type === 'blob-done') bar.done(e.digest);
          },
        }),
      );
      if (opts.json) {
        console.log(JSON.stringify({ ...result, referrers: referrers.length, fallbackTags }, null, 2));
        return;
      }
      const kind = isImageIndex(subject) ? `index of ${result.manifests.length} images` : 'image';
      console.log(`pushed ${kind} ${result.reference}`);
      console.log(
        `blobs: ${result.uploaded} uploaded (${bytes(result.bytesUploaded)}), ${result.skipped} already there, ${result.mounted} mounted` +
          (result.retries ? `; ${result.retries} retries` : ''),
      );
      if (referrers.length)
        console.log(
          `referrers: ${referrers.length}${fallbackTags.length ? ` (no referrers API: ${fallbackTags.length} sha256-<hex> fallback tags)` : ''}`,
        );
      console.log(`tags: ${result.tags.join(', ')}`);
      console.log(`digest: ${result.digest}`);
    },
  );
}
