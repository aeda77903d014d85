/** FROM scratch: an image with no layers, an empty runtime config, and a reproducible `created`. */
import { type Image, imageFromParts } from './image.ts';
import type { Family } from './media-types.ts';
import { normalizePlatform, type Platform } from './platform.ts';
import { rfc3339 } from './time.ts';

export interface EmptyImageOptions {
  family?: Family;
  platform?: Platform;
  /** Seconds since the epoch for `created`. Default 0 (1970-01-01T00:00:00Z). */
  sourceDateEpoch?: number;
}

/** An empty image. Set its platform (here or with `withPlatform`) before putting it in an index. */
export function emptyImage(opts: EmptyImageOptions = {}): Image {
  const p = opts.platform ? normalizePlatform(opts.platform) : undefined;
  return imageFromParts({
    family: opts.family ?? 'oci',
    config: {
      created: rfc3339(opts.sourceDateEpoch ?? 0),
      architecture: p?.architecture ?? '',
      os: p?.os ?? '',
      ...(p?.variant ? { variant: p.variant } : {}),
      config: {},
      rootfs: { type: 'layers', diff_ids: [] },
    },
    layers: [],
  });
}

/** The empty OCI image with no platform and `created` = the epoch. */
export const scratch: Image = emptyImage();
