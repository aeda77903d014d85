/**
 * Images: accessor-only and immutable (like go-containerregistry's v1.Image). Two implementations:
 * - `imageFromParts`: config + layers + annotations, serialised lazily and ONCE; the bytes hashed are
 *   the bytes stored and pushed (OCI-NOTES #6);
 * - `imageFromRaw`: exact manifest/config bytes read from a layout or registry, layers resolved by descriptor.
 */
import { Digest, sha256 } from './digest.ts';
import { InvalidJsonError, LayerNotFoundError, MediaTypeError } from './errors.ts';
import { type Layer, withLayerMediaType } from './layer.ts';
import {
  configMediaType,
  convertMediaType,
  type Family,
  familyOf,
  isManifest,
  manifestMediaType,
} from './media-types.ts';
import {
  type Annotations,
  type ConfigFile,
  type Descriptor,
  type Manifest,
  serializeConfig,
  serializeManifest,
} from './types.ts';

export interface Image {
  /** The manifest media type (OCI or Docker v2). */
  mediaType(): string;
  /** Size in bytes of the raw manifest. */
  size(): Promise<number>;
  /** sha256 of the raw manifest. */
  digest(): Promise<Digest>;
  rawManifest(): Promise<Buffer>;
  manifest(): Promise<Manifest>;
  rawConfig(): Promise<Buffer>;
  configFile(): Promise<ConfigFile>;
  configDescriptor(): Promise<Descriptor>;
  /** Layers, base first. */
  layers(): Promise<Layer[]>;
  /** The layer whose compressed digest is `d`; throws `LayerNotFoundError`. */
  layerByDigest(d: Digest | string): Promise<Layer>;
  /** The layer whose diff_id (uncompressed digest) is `d`; throws `LayerNotFoundError`. */
  layerByDiffId(d: Digest | string): Promise<Layer>;
}

/** The editable description of an image that the mutations work on. */
export interface ImageParts {
  family: Family;
  /** The config; `rootfs.diff_ids` is recomputed from `layers`. */
  config: ConfigFile;
  layers: Layer[];
  annotations?: Annotations;
}

const partsOf = new WeakMap<Image, ImageParts>();

function parseJson<T>(what: string, bytes: Buffer): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (cause) {
    throw new InvalidJsonError(what, cause);
  }
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= fn();
    return p;
  };
}

function finders(layers: () => Promise<Layer[]>) {
  const find = async (d: Digest | string, key: 'digest' | 'diffId') => {
    const want = d.toString();
    for (const l of await layers()) if ((await l[key]()).toString() === want) return l;
    throw new LayerNotFoundError(want);
  };
  return {
    layerByDigest: (d: Digest | string) => find(d, 'digest'),
    layerByDiffId: (d: Digest | string) => find(d, 'diffId'),
  };
}

/** An image from its parts. Layer media types are converted to `family` (gzip stays gzip). */
export function imageFromParts(parts: ImageParts): Image {
  const family = parts.family;
  const layers = parts.layers.map((l) => withLayerMediaType(l, convertMediaType(l.mediaType(), family)));
  const frozen: ImageParts = { ...parts, layers, config: structuredClone(parts.config) };
  const rawConfig = once(async () => {
    const diffIds = await Promise.all(layers.map(async (l) => (await l.diffId()).toString()));
    return serializeConfig({ ...frozen.config, rootfs: { type: 'layers', diff_ids: diffIds } });
  });
  const configDescriptor = once(async () => {
    const raw = await rawConfig();
    return { mediaType: configMediaType(family), digest: sha256(raw).toString(), size: raw.byteLength };
  });
  const rawManifest = once(async () => {
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: manifestMediaType(family),
      config: await configDescriptor(),
      layers: await Promise.all(
        layers.map(async (l) => ({
          mediaType: l.mediaType(),
          digest: (await l.digest()).toString(),
          size: await l.size(),
        })),
      ),
    };
    // Docker's schema 2 defines no annotations (skopeo's own conversion drops them): OCI manifests only.
    if (family === 'oci' && frozen.annotations && Object.keys(frozen.annotations).length)
      manifest.annotations = frozen.annotations;
    return serializeManifest(manifest);
  });
  const img: Image = {
    mediaType: () => manifestMediaType(family),
    size: async () => (await rawManifest()).byteLength,
    digest: async () => sha256(await rawManifest()),
    rawManifest,
    manifest: async () => parseJson<Manifest>('manifest', await rawManifest()),
    rawConfig,
    configFile: async () => parseJson<ConfigFile>('config', await rawConfig()),
    configDescriptor,
    layers: async () => [...layers],
    ...finders(async () => layers),
  };
  partsOf.set(img, frozen);
  return img;
}

/**
 * An image from exact bytes (layout, registry). `layerFor(descriptor, diffId)` supplies each layer.
 * The bytes are kept as given; nothing is re-serialised.
 */
export function imageFromRaw(
  rawManifest: Buffer,
  rawConfig: Buffer,
  layerFor: (descriptor: Descriptor, diffId: string | undefined, index: number) => Layer,
): Image {
  const manifest = parseJson<Manifest>('manifest', rawManifest);
  const config = parseJson<ConfigFile>('config', rawConfig);
  const mediaType = manifest.mediaType;
  if (!mediaType || !isManifest(mediaType)) {
    throw new MediaTypeError(
      `manifest has media type ${JSON.stringify(mediaType)}, expected an OCI or Docker v2 image manifest`,
    );
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers = once(async () => manifest.layers.map((d, i) => layerFor(d, diffIds[i], i)));
  return {
    mediaType: () => mediaType,
    size: async () => rawManifest.byteLength,
    digest: async () => sha256(rawManifest),
    rawManifest: async () => rawManifest,
    manifest: async () => structuredClone(manifest),
    rawConfig: async () => rawConfig,
    configFile: async () => structuredClone(config),
    configDescriptor: async () => structuredClone(manifest.config),
    layers: async () => [...(await layers())],
    ...finders(layers),
  };
}

/** The parts of any image (cheap for images built here; parsed for raw ones). */
export async function toParts(img: Image): Promise<ImageParts> {
  const known = partsOf.get(img);
  if (known) return { ...known, config: structuredClone(known.config), layers: [...known.layers] };
  const manifest = await img.manifest();
  const family = familyOf(img.mediaType());
  if (!family) throw new MediaTypeError(`cannot tell the family of media type ${img.mediaType()}`);
  const parts: ImageParts = { family, config: await img.configFile(), layers: await img.layers() };
  if (manifest.annotations) parts.annotations = manifest.annotations;
  return parts;
}

/** The descriptor of an image (media type, digest, size of its manifest). */
export async function imageDescriptor(img: Image): Promise<Descriptor> {
  return { mediaType: img.mediaType(), digest: (await img.digest()).toString(), size: await img.size() };
}

export { Digest };
