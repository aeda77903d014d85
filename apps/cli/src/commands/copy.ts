/**
 * `scratchpack copy SRC [DST]`: an image and all its platforms and referrers (SBOMs, provenance, signatures)
 * from any place to any other — layout, archive, local store, registry — with digests unchanged, blobs the
 * destination has skipped, and every byte read checked against its digest (crane copy, skopeo copy --all).
 * `pull` and `push` are this command with one side fixed.
 */
import { BlobStore, type ImageStore } from '@scratchpack/oci';
import type { ClientOptions, PushEvent } from '@scratchpack/registry';
import {
  copyImage,
  describeRef,
  type ImageRef,
  openSource,
  type PutResult,
  parseOutputRef,
} from '@scratchpack/transport';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { localStore, resolveImage } from '../image-ref.ts';
import { bytes } from '../output.ts';
import { checkOutputPath } from '../output-path.ts';
import { withProgress } from '../progress.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { say, sayJson } from '../safe-text.ts';

export interface CopyFlags {
  referrers: boolean;
  json?: boolean;
  verbose?: boolean;
  tag?: string[];
  from?: string;
  chunkSize?: string;
  /** Only this platform of an index. */
  platform?: string;
}

export interface CopySummary extends PutResult {
  source: string;
  /** Blobs downloaded from a registry source. */
  blobsFetched: number;
  bytesFetched: number;
}

/** The blob store a destination keeps its blobs in, so a registry source skips what is there. */
function cacheFor(dst: ImageRef, store: ImageStore): BlobStore | undefined {
  if (dst.kind === 'store') return new BlobStore(store.dir);
  if (dst.kind === 'layout') return new BlobStore(dst.dir);
  return undefined;
}

function chunkSizeOf(flags: CopyFlags): number | undefined {
  if (flags.chunkSize === undefined) return undefined;
  const n = Number(flags.chunkSize);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(
      `--chunk-size ${flags.chunkSize}: expected a positive number of bytes`,
      'e.g. --chunk-size 8388608',
    );
  return n;
}

/** Copy `src` (read by the one rule) to `dst` (already parsed), with progress for pushes. */
export async function copyBetween(
  src: string,
  dst: ImageRef,
  flags: CopyFlags,
  client: ClientOptions,
): Promise<CopySummary> {
  const chunkSize = chunkSizeOf(flags);
  const store = localStore();
  if (dst.kind === 'layout') await checkOutputPath(dst.dir, 'layout', 'destination');
  if (dst.kind === 'archive') await checkOutputPath(dst.file, 'archive', 'destination');
  const ref = await resolveImage(src);
  const cache = cacheFor(dst, store);
  const source = await openSource(ref, { client, store, ...(cache && { cache }), signal: client.signal });
  try {
    const result = await withProgress(dst.kind === 'registry' ? 'push' : 'copy', (bar) =>
      copyImage(source, dst, {
        client,
        store,
        signal: client.signal,
        referrers: flags.referrers,
        ...(flags.platform && { platform: flags.platform }),
        ...(flags.tag?.length && { tags: flags.tag }),
        ...(flags.from && { from: flags.from }),
        ...(chunkSize !== undefined && { chunkSize }),
        onPush: (e: PushEvent) => {
          if (e.type === 'blob-start') bar.add(e.digest, e.size);
          else if (e.type === 'blob-progress') bar.update(e.digest, e.bytes);
          else if (e.type === 'blob-done') bar.done(e.digest);
        },
      }),
    );
    return {
      ...result,
      source: describeRef(ref),
      blobsFetched: source.fetched?.blobs ?? 0,
      bytesFetched: source.fetched?.bytes ?? 0,
    };
  } finally {
    await source.close();
  }
}

export function printCopy(r: CopySummary, json: boolean | undefined): void {
  if (json) {
    // A push's own summary (uploaded, skipped, mounted, manifests, indexDigest…) stays at the top level.
    const { push, ...rest } = r;
    sayJson({ ...push, ...rest });
    return;
  }
  say(`copied ${r.source} to ${r.where}`);
  const fetched = r.source.startsWith('registry ')
    ? `${r.blobsFetched} fetched (${bytes(r.bytesFetched)}); `
    : '';
  say(`blobs: ${fetched}${r.blobsWritten} written, ${r.blobsSkipped} already there`);
  if (r.referrers)
    say(
      `referrers: ${r.referrers}${r.fallbackTags.length ? ` (no referrers API: ${r.fallbackTags.length} sha256-<hex> fallback tags)` : ''}`,
    );
  if (r.tags.length) say(`tags: ${r.tags.join(', ')}`);
  say(`digest: ${r.digest}`);
}

export function copyCommand(program: Command): void {
  const cmd = program
    .command('copy')
    .alias('cp')
    .description(
      'copy an image with all its platforms and referrers between layouts, archives, the local store and registries (digests unchanged; blobs already there skipped)',
    )
    .argument(
      '<source>',
      'any image reference (see `scratchpack --help`: oci:, oci-archive:, docker://, store:, or none)',
    )
    .argument(
      '[destination]',
      'oci:DIR[:TAG], oci-archive:FILE, docker://REF or HOST/REPO:TAG (pushed), store:NAME; default for a registry source: the store under its name',
    )
    .option('--no-referrers', 'leave the SBOMs, provenance and signatures behind')
    .option('--platform <platform>', 'copy only this platform of a multi-arch index (its manifest as it is)')
    .option(
      '-t, --tag <tag>',
      'also point this tag at the copy (registries and layouts; repeatable)',
      (v: string, a: string[]) => [...a, v],
      [],
    )
    .option('--json', 'print the summary as JSON');
  addRegistryFlags(cmd).action(
    async (src: string, dst: string | undefined, opts: RegistryFlags & CopyFlags) => {
      let target: ImageRef;
      if (dst !== undefined) target = parseOutputRef(dst);
      else {
        const from = await resolveImage(src);
        if (from.kind !== 'registry')
          throw new UsageError(
            `say where to copy ${src} (${describeRef(from)})`,
            `e.g. scratchpack copy ${src} oci:./out:latest`,
          );
        target = { kind: 'store', name: src.replace(/^docker:\/\//, ''), input: src };
      }
      printCopy(await copyBetween(src, target, opts, await clientOptions(opts)), opts.json);
    },
  );
}
