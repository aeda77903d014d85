/**
 * Checking that an image is what its manifests say: every config and layer reachable from the resolved
 * manifest (each platform image of an index) is read through the source and checked against its descriptor
 * (go-containerregistry's validate). What a signature over a manifest promises holds only when this passes.
 */
import { formatPlatformAsGiven, isImageIndex } from '@scratchpack/oci';
import type { Source } from './source.ts';

export interface ContentCheck {
  /** Blobs read and found right. */
  checked: number;
  bytes: number;
  /** One line per blob that is missing or not what its descriptor says. */
  problems: string[];
}

/** Read every blob the source's image reaches and check it; never throws for a bad blob, lists it. */
export async function checkContents(src: Source, signal?: AbortSignal): Promise<ContentCheck> {
  const out: ContentCheck = { checked: 0, bytes: 0, problems: [] };
  const images = isImageIndex(src.subject)
    ? (await src.subject.images()).map((c) => ({
        what: c.descriptor.platform ? formatPlatformAsGiven(c.descriptor.platform) : c.descriptor.digest,
        image: c.image,
      }))
    : [{ what: 'image', image: src.subject }];
  const seen = new Set<string>();
  for (const { what, image } of images) {
    signal?.throwIfAborted();
    const m = await image.manifest();
    for (const [kind, d] of [['config', m.config] as const, ...m.layers.map((l) => ['layer', l] as const)]) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      try {
        const s = await src.blob(d);
        for await (const chunk of s) out.bytes += (chunk as Buffer).byteLength;
        out.checked++;
      } catch (err) {
        out.problems.push(`${what}: ${kind} ${d.digest}: ${(err as Error).message}`);
      }
    }
  }
  return out;
}
