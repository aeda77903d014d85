/**
 * Image indexes (multi-platform): accessor-only and immutable. `imageIndex()` builds one from images,
 * deriving each entry's platform from the image config; `indexFromRaw()` wraps exact bytes.
 */
import { type Digest, sha256 } from './digest.ts';
import { BlobNotFoundError, InvalidJsonError, MediaTypeError, PlatformMismatchError } from './errors.ts';
import { type Image, imageDescriptor } from './image.ts';
import { type Family, familyOf, indexMediaType, isIndex } from './media-types.ts';
import {
  formatPlatform,
  formatPlatformAsGiven,
  normalizePlatform,
  type Platform,
  platformEquals,
  platformMatches,
} from './platform.ts';
import { type Annotations, type Descriptor, type IndexManifest, serializeManifest } from './types.ts';

export interface ImageIndex {
  mediaType(): string;
  size(): Promise<number>;
  digest(): Promise<Digest>;
  rawManifest(): Promise<Buffer>;
  indexManifest(): Promise<IndexManifest>;
  /** Every image child with its descriptor, in index order. */
  images(): Promise<{ descriptor: Descriptor; image: Image }[]>;
  /** The child image with manifest digest `d`; throws `BlobNotFoundError` if absent. */
  image(d: Digest | string): Promise<Image>;
}

export interface IndexEntry {
  image: Image;
  /** Optional: must equal the image config's platform when given (it is always derived from the config). */
  platform?: Platform;
  annotations?: Annotations;
}

export interface ImageIndexOptions {
  family?: Family;
  annotations?: Annotations;
}

/** The platform an image's config declares (normalised). */
export async function platformOfImage(img: Image): Promise<Platform> {
  const c = await img.configFile();
  const p: Platform = { os: c.os, architecture: c.architecture };
  if (c.variant) p.variant = c.variant;
  if (c['os.version']) p['os.version'] = c['os.version'];
  if (c['os.features']) p['os.features'] = c['os.features'];
  return p;
}

function parseJson<T>(what: string, bytes: Buffer): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (cause) {
    throw new InvalidJsonError(what, cause);
  }
}

/**
 * Build an index from images (default family `oci`). Every child must be of the index's family
 * (convert with `withMediaTypeFamily` first); each descriptor's platform comes from the child's config
 * and, when `entry.platform` is given, must equal it. Two children with the same platform are refused.
 */
export function imageIndex(entries: IndexEntry[], opts: ImageIndexOptions = {}): ImageIndex {
  const family = opts.family ?? 'oci';
  const mediaType = indexMediaType(family);
  let built: Promise<{ raw: Buffer; children: { descriptor: Descriptor; image: Image }[] }> | undefined;
  const build = () => {
    built ??= (async () => {
      const children: { descriptor: Descriptor; image: Image }[] = [];
      const seen = new Map<string, number>();
      for (const [i, e] of entries.entries()) {
        const childFamily = familyOf(e.image.mediaType());
        if (childFamily !== family) {
          throw new MediaTypeError(
            `index entry ${i} is a ${e.image.mediaType()} manifest; an ${family === 'oci' ? 'OCI index' : 'Docker manifest list'} only lists ${family} manifests (convert it with withMediaTypeFamily)`,
          );
        }
        const fromConfig = await platformOfImage(e.image);
        if (!fromConfig.os || !fromConfig.architecture) {
          throw new PlatformMismatchError(`index entry ${i}: the image config has no os/architecture`);
        }
        const platform = normalizePlatform(fromConfig);
        if (
          platform.os !== fromConfig.os ||
          platform.architecture !== fromConfig.architecture ||
          (platform.variant ?? '') !== (fromConfig.variant ?? '')
        ) {
          throw new PlatformMismatchError(
            `index entry ${i}: the config's platform ${formatPlatformAsGiven(fromConfig)} is not in Go's normal form (${formatPlatform(platform)}); set it with withPlatform`,
          );
        }
        if (e.platform && !platformEquals(e.platform, platform)) {
          throw new PlatformMismatchError(
            `index entry ${i}: platform ${formatPlatform(e.platform)} differs from the image config's ${formatPlatform(platform)}`,
          );
        }
        const key = formatPlatform(platform);
        if (seen.has(key))
          throw new PlatformMismatchError(
            `index entries ${seen.get(key)} and ${i} both have platform ${key}`,
          );
        seen.set(key, i);
        const descriptor: Descriptor = { ...(await imageDescriptor(e.image)), platform };
        // A Docker manifest list defines no annotations, on itself or its entries: OCI indexes only.
        if (family === 'oci' && e.annotations && Object.keys(e.annotations).length)
          descriptor.annotations = { ...e.annotations };
        children.push({ descriptor, image: e.image });
      }
      const manifest: IndexManifest = {
        schemaVersion: 2,
        mediaType,
        manifests: children.map((c) => c.descriptor),
      };
      if (family === 'oci' && opts.annotations && Object.keys(opts.annotations).length)
        manifest.annotations = { ...opts.annotations };
      return { raw: serializeManifest(manifest), children };
    })();
    return built;
  };
  return {
    mediaType: () => mediaType,
    size: async () => (await build()).raw.byteLength,
    digest: async () => sha256((await build()).raw),
    rawManifest: async () => (await build()).raw,
    indexManifest: async () => parseJson<IndexManifest>('index', (await build()).raw),
    images: async () => [...(await build()).children],
    image: async (d) => {
      const found = (await build()).children.find((c) => c.descriptor.digest === d.toString());
      if (!found) throw new BlobNotFoundError('the index', d.toString());
      return found.image;
    },
  };
}

/** An index from exact bytes; `childFor(descriptor)` supplies each image child lazily. */
export function indexFromRaw(raw: Buffer, childFor: (descriptor: Descriptor) => Promise<Image>): ImageIndex {
  const manifest = parseJson<IndexManifest>('index', raw);
  if (!manifest.mediaType || !isIndex(manifest.mediaType)) {
    throw new MediaTypeError(
      `index has media type ${JSON.stringify(manifest.mediaType)}, expected an OCI index or Docker manifest list`,
    );
  }
  const cache = new Map<string, Promise<Image>>();
  const child = (d: Descriptor) => {
    let p = cache.get(d.digest);
    if (!p) {
      p = childFor(d);
      cache.set(d.digest, p);
    }
    return p;
  };
  return {
    mediaType: () => manifest.mediaType,
    size: async () => raw.byteLength,
    digest: async () => sha256(raw),
    rawManifest: async () => raw,
    indexManifest: async () => structuredClone(manifest),
    images: async () =>
      Promise.all(
        manifest.manifests
          .filter((d) => !isIndex(d.mediaType))
          .map(async (descriptor) => ({ descriptor, image: await child(descriptor) })),
      ),
    image: async (d) => {
      const desc = manifest.manifests.find((m) => m.digest === d.toString());
      if (!desc) throw new BlobNotFoundError('the index', d.toString());
      return child(desc);
    },
  };
}

/** The child image whose platform matches `want` (see `platformMatches`), or undefined. */
export async function imageForPlatform(
  index: ImageIndex,
  want: Platform | string,
): Promise<Image | undefined> {
  for (const { descriptor, image } of await index.images()) {
    if (descriptor.platform && platformMatches(want, descriptor.platform)) return image;
  }
  return undefined;
}
