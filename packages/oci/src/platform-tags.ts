/**
 * Per-platform tags in a layout (`--platform-tags`): beside `TAG` (the multi-platform index), `TAG-OS-ARCH[-VARIANT]`
 * names each platform's manifest directly (`latest-linux-arm64-v8`), with its `platform` in the entry. Tools that
 * cannot pick a platform from an index (umoci: "tag is ambiguous") unpack one by that name. An OCI archive of such
 * a layout still lists only the index (archive-index.ts leaves entries with a `platform` to the full-index blob).
 */
import type { ImageIndex } from './image-index.ts';
import { writeLayoutRefs } from './layout.ts';
import type { Platform } from './platform.ts';

/** `tag-os-arch[-variant]`, e.g. `latest-linux-arm-v7`; arm64's default variant v8 is left out (`latest-linux-arm64`). */
export function platformTag(tag: string, p: Platform): string {
  const variant = p.variant && !(p.architecture === 'arm64' && p.variant === 'v8') ? [p.variant] : [];
  return [tag, p.os, p.architecture, ...variant].join('-');
}

/**
 * Point `platformTag(tag, platform)` at each platform image of `index` in the layout `dir`, for every tag.
 * Returns the names written. The image blobs are already there (written with the index): only `index.json` changes.
 */
export async function writePlatformTags(
  dir: string,
  index: ImageIndex,
  tags: string[],
  opts: { imageName?: string; signal?: AbortSignal | undefined } = {},
): Promise<string[]> {
  const written: string[] = [];
  for (const { descriptor, image } of await index.images()) {
    if (!descriptor.platform) continue;
    const names = tags.map((t) => platformTag(t, descriptor.platform!));
    const refs = names.map((name) =>
      opts.imageName ? { name, containerdName: `${opts.imageName}:${name}` } : { name },
    );
    await writeLayoutRefs(dir, image, refs, { signal: opts.signal, platform: descriptor.platform });
    written.push(...names);
  }
  return written;
}
