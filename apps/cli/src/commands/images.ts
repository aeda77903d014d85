/** `scratchpack images`: the images in the local store — name, digest, platforms, size, created. */
import {
  type Descriptor,
  formatPlatform,
  isImageIndex,
  type Layout,
  loadDescriptor,
  platformOfImage,
  readLayout,
} from '@scratchpack/oci';
import type { Command } from 'commander';
import { localStore } from '../image-ref.ts';
import { bytes, table } from '../output.ts';
import { say, sayJson } from '../safe-text.ts';

export interface ImageRow {
  name: string;
  digest: string;
  mediaType: string;
  platforms: string[];
  /** Compressed bytes of every distinct blob the image reaches (index, manifests, configs, layers). */
  size: number;
  created: string | null;
}

/** One stored entry, summarised from its index or manifest and config. */
export async function describeStored(layout: Layout, name: string, d: Descriptor): Promise<ImageRow> {
  const subject = await loadDescriptor(layout.blobs, d);
  const sizes = new Map<string, number>([[d.digest, d.size]]);
  const images = isImageIndex(subject)
    ? (await subject.images()).map((c) => ({ image: c.image, platform: c.descriptor.platform }))
    : [{ image: subject, platform: undefined }];
  const platforms: string[] = [];
  let created = isImageIndex(subject)
    ? (await subject.indexManifest()).annotations?.['org.opencontainers.image.created']
    : undefined;
  for (const { image, platform } of images) {
    const m = await image.manifest();
    sizes.set((await image.digest()).toString(), await image.size());
    for (const b of [m.config, ...m.layers]) sizes.set(b.digest, b.size);
    platforms.push(formatPlatform(platform ?? (await platformOfImage(image))));
    created ??= (await image.configFile()).created;
  }
  const size = [...sizes.values()].reduce((a, b) => a + b, 0);
  return { name, digest: d.digest, mediaType: d.mediaType, platforms, size, created: created ?? null };
}

export function imagesCommand(program: Command): void {
  program
    .command('images')
    .description('list the images in the local store (name, digest, platforms, size, created)')
    .option('--json', 'print JSON')
    .option('-q, --quiet', 'print only the names')
    .action(async (opts: { json?: boolean; quiet?: boolean }) => {
      const store = localStore();
      const entries = await store.list();
      const layout = entries.length ? await readLayout(store.dir) : undefined;
      const rows: ImageRow[] = [];
      for (const e of entries) {
        // A damaged entry is listed (with what is known) rather than hiding every other image.
        const row = await describeStored(layout!, e.name, e.descriptor).catch(() => undefined);
        rows.push(
          row ?? {
            name: e.name,
            digest: e.descriptor.digest,
            mediaType: e.descriptor.mediaType,
            platforms: ['?'],
            size: e.descriptor.size,
            created: null,
          },
        );
      }
      if (opts.json) {
        sayJson({ store: store.dir, images: rows });
        return;
      }
      if (opts.quiet) {
        for (const r of rows) say(r.name);
        return;
      }
      say(
        table(
          rows.map((r) => [
            r.name,
            r.digest.slice(7, 19),
            r.platforms.join(','),
            bytes(r.size),
            r.created ?? '',
          ]),
          ['NAME', 'DIGEST', 'PLATFORMS', 'SIZE', 'CREATED'],
        ),
      );
    });
}
