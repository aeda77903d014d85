/**
 * What a push sends, worked out before its first request: each image's manifest with the blobs it names, and
 * every blob once (the images' and the referrers', which share one empty config).
 */
import { Readable } from 'node:stream';
import type { Artifact, Image } from '@scratchpack/oci';
import { artifactPushBlob, type PushBlob } from './upload.ts';

export interface PlannedBlob extends PushBlob {
  kind: 'layer' | 'config';
}

export interface PlannedImage {
  image: Image;
  digest: string;
  /** The manifest's exact bytes. */
  raw: Buffer;
  /** Digests of the config and layers the manifest names: they go before it. */
  blobs: string[];
}

/** Each image with its digest, manifest bytes and the blobs it names. */
export async function planImages(images: Image[]): Promise<PlannedImage[]> {
  return Promise.all(
    images.map(async (image) => {
      const m = await image.manifest();
      return {
        image,
        digest: (await image.digest()).toString(),
        raw: await image.rawManifest(),
        blobs: [m.config.digest, ...m.layers.map((l) => l.digest)],
      };
    }),
  );
}

/**
 * Every blob once, in first-seen order: each image's layers and config, then the blobs of the referrers of that
 * image, then those of the other referrers (of the index, of other referrers). So an image, its referrers and its
 * fallback tag can be done while the next image's blobs still go, instead of all of them waiting for the last blob.
 */
export async function planBlobs(images: Image[], referrers: readonly Artifact[]): Promise<PlannedBlob[]> {
  const seen = new Map<string, PlannedBlob>();
  const artifactBlobs = (a: Artifact) => {
    for (const b of a.blobs) {
      if (seen.has(b.descriptor.digest)) continue;
      const kind = b.descriptor.digest === a.manifest.config.digest ? 'config' : 'layer';
      seen.set(b.descriptor.digest, { ...artifactPushBlob(b), kind });
    }
  };
  for (const image of images) {
    for (const layer of await image.layers()) {
      const digest = (await layer.digest()).toString();
      if (!seen.has(digest)) {
        const file = layer.storedFile?.();
        seen.set(digest, {
          digest,
          size: await layer.size(),
          kind: 'layer',
          open: () => layer.compressed(),
          ...(file !== undefined && { file }),
        });
      }
    }
    const config = await image.configDescriptor();
    if (!seen.has(config.digest)) {
      const raw = await image.rawConfig();
      seen.set(config.digest, {
        digest: config.digest,
        size: config.size,
        kind: 'config',
        open: () => Readable.from([raw]),
        bytes: raw,
      });
    }
    const digest = (await image.digest()).toString();
    for (const a of referrers) if (a.manifest.subject?.digest === digest) artifactBlobs(a);
  }
  for (const a of referrers) artifactBlobs(a);
  return [...seen.values()];
}
