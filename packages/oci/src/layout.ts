/**
 * OCI image layouts (image-layout.md, OCI-NOTES #8): `oci-layout`, `index.json`, `blobs/sha256/<hex>`.
 * Writing: every blob first (via `writeBlob`), `index.json` LAST by temp + rename, so a failed write
 * leaves the previous layout usable. Reading is lazy: objects are backed by the blobs on disk.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { allowManyAbortListeners, throwIfAborted } from './abort.ts';
import { BlobStore } from './blob-store.ts';
import { Digest, sha256, verifiedStream } from './digest.ts';
import {
  AmbiguousTagError,
  DigestMismatchError,
  InvalidDocumentError,
  InvalidRefError,
  LayoutNotFoundError,
  MediaTypeError,
  OciError,
  SizeMismatchError,
  TagNotFoundError,
  ValidationError,
} from './errors.ts';
import { type Image, imageDescriptor, imageFromRaw } from './image.ts';
import { type ImageIndex, indexFromRaw } from './image-index.ts';
import { layerFromBlob } from './layer.ts';
import { type LayoutRef, mergeRefs, REF_NAME, updateLayoutIndex } from './layout-update.ts';
import type { LockOptions } from './lock.ts';
import { isIndex, isManifest } from './media-types.ts';
import type { Platform } from './platform.ts';
import {
  type BadIndexEntry,
  parseImageManifest,
  parseIndexManifest,
  parseIndexSkippingBadEntries,
} from './schema.ts';
import type { Descriptor, IndexManifest } from './types.ts';

export { CONTAINERD_NAME, REF_NAME } from './layout-update.ts';

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function isImageIndex(x: Image | ImageIndex): x is ImageIndex {
  return 'indexManifest' in x;
}

/** Parse `<dir>[:<tag>]`. Only a final `:<valid tag>` is a tag, so `C:\x`, `a:b/c` stay paths. */
export function parseLayoutRef(ref: string): { dir: string; tag?: string } {
  if (!ref) throw new InvalidRefError(ref, 'empty');
  if (ref.endsWith(':')) throw new InvalidRefError(ref, 'empty tag after ":"');
  const i = ref.lastIndexOf(':');
  if (i > 0) {
    const tag = ref.slice(i + 1);
    if (TAG_RE.test(tag)) return { dir: ref.slice(0, i), tag };
  }
  return { dir: ref };
}

export interface WriteLayoutOptions {
  /** Tags to point at the subject; each replaces an existing entry with the same tag. */
  tags?: string[];
  /** Repository name for `io.containerd.image.name` (`<imageName>:<tag>`), e.g. `ghcr.io/me/hello`. */
  imageName?: string;
  /**
   * Abort the write: blob writes stop and their temp files are removed, `index.json` is left as it was, and the
   * call rejects with `AbortedError`.
   */
  signal?: AbortSignal | undefined;
}

export interface WriteLayoutResult {
  descriptor: Descriptor;
  blobsWritten: number;
  blobsSkipped: number;
}

async function writeImageBlobs(
  store: BlobStore,
  img: Image,
  count: { w: number; s: number },
  signal: AbortSignal | undefined,
): Promise<void> {
  const tally = (written: boolean) => (written ? count.w++ : count.s++);
  const o = { signal };
  for (const layer of await img.layers()) {
    const file = layer.compressedFile?.();
    const bytes = file === undefined ? () => layer.compressed() : { file };
    tally(await store.write(await layer.digest(), await layer.size(), bytes, o));
  }
  const cd = await img.configDescriptor();
  tally(await store.write(cd.digest, cd.size, await img.rawConfig(), o));
  tally(await store.write(await img.digest(), await img.size(), await img.rawManifest(), o));
}

/**
 * Write `subject` (an index or a single image) and all its blobs into the layout at `dir` (created if
 * needed), and point `tags` at it. Idempotent: same content → same bytes on disk. Other tags are kept.
 */
export async function writeLayout(
  dir: string,
  subject: ImageIndex | Image,
  opts: WriteLayoutOptions = {},
): Promise<WriteLayoutResult> {
  for (const t of opts.tags ?? [])
    if (!TAG_RE.test(t)) throw new InvalidRefError(t, 'not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})');
  const refs = (opts.tags ?? []).map((name) =>
    opts.imageName ? { name, containerdName: `${opts.imageName}:${name}` } : { name },
  );
  return writeLayoutRefs(dir, subject, refs, { signal: opts.signal });
}

async function writeSubjectBlobs(
  store: BlobStore,
  subject: ImageIndex | Image,
  count: { w: number; s: number },
  signal: AbortSignal | undefined,
): Promise<Descriptor> {
  if (!isImageIndex(subject)) {
    await writeImageBlobs(store, subject, count, signal);
    return imageDescriptor(subject);
  }
  for (const { image } of await subject.images()) await writeImageBlobs(store, image, count, signal);
  const raw = await subject.rawManifest();
  const d = sha256(raw);
  (await store.write(d, raw.byteLength, raw, { signal })) ? count.w++ : count.s++;
  return { mediaType: subject.mediaType(), digest: d.toString(), size: raw.byteLength };
}

/**
 * `writeLayout` with names as given (not checked as tags): the blobs first, then — under the layout's
 * lock — any blob collected meanwhile again, and `index.json` re-read, merged and replaced.
 */
export async function writeLayoutRefs(
  dir: string,
  subject: ImageIndex | Image,
  refs: LayoutRef[],
  lock: LockOptions & { platform?: Platform } = {},
): Promise<WriteLayoutResult> {
  const { signal } = lock;
  allowManyAbortListeners(signal);
  const store = new BlobStore(dir);
  const count = { w: 0, s: 0 };
  const written = await writeSubjectBlobs(store, subject, count, signal);
  // A platform image named on its own (platform-tags.ts) says which platform it is.
  const descriptor = lock.platform ? { ...written, platform: lock.platform } : written;
  await updateLayoutIndex(
    dir,
    async (existing) => {
      await writeSubjectBlobs(store, subject, { w: 0, s: 0 }, signal);
      // The last moment to stop: once index.json is replaced, the write has happened.
      throwIfAborted(signal, `writing the layout ${dir}`);
      return mergeRefs(existing, descriptor, refs);
    },
    lock,
  );
  return { descriptor, blobsWritten: count.w, blobsSkipped: count.s };
}

/** A blob path that exists but is not a regular file (a directory, a device): a damaged layout, said clearly. */
async function checkBlobIsFile(store: BlobStore, digest: string): Promise<void> {
  const s = await stat(store.path(digest)).catch(() => undefined);
  if (s && !s.isFile()) {
    throw new OciError(
      'OCI_BLOB_NOT_FOUND',
      `blob ${digest} in ${store.root} is ${s.isDirectory() ? 'a directory' : 'not a regular file'}: ${store.path(digest)}`,
      { hint: 'the layout is damaged; rebuild it or pull the image again' },
    );
  }
}

async function readVerified(store: BlobStore, d: Descriptor): Promise<Buffer> {
  await checkBlobIsFile(store, d.digest);
  const raw = await store.read(d.digest);
  if (raw.byteLength !== d.size) throw new SizeMismatchError(`blob ${d.digest}`, d.size, raw.byteLength);
  const actual = sha256(raw);
  if (!actual.equals(d.digest))
    throw new DigestMismatchError(`blob ${d.digest}`, d.digest, actual.toString());
  return raw;
}

/** A lazy Image or ImageIndex for `descriptor`, backed by the blobs in `store`. Manifests/configs are verified. */
export async function loadDescriptor(store: BlobStore, descriptor: Descriptor): Promise<Image | ImageIndex> {
  const raw = await readVerified(store, descriptor);
  if (isIndex(descriptor.mediaType)) {
    parseIndexManifest(raw, `index ${descriptor.digest} in ${store.root}`);
    return indexFromRaw(raw, async (child) => {
      const c = await loadDescriptor(store, child);
      if (isImageIndex(c))
        throw new MediaTypeError(`nested index ${child.digest} where an image was expected`);
      return c;
    });
  }
  if (!isManifest(descriptor.mediaType))
    throw new MediaTypeError(`cannot load ${descriptor.mediaType} (${descriptor.digest})`);
  const manifest = parseImageManifest(raw, `manifest ${descriptor.digest} in ${store.root}`);
  const rawConfig = await readVerified(store, manifest.config);
  for (const layer of manifest.layers) await checkBlobIsFile(store, layer.digest);
  return imageFromRaw(raw, rawConfig, (d, diffId, i) => {
    if (!diffId) {
      throw new ValidationError(`image ${descriptor.digest}`, [
        `layer ${i} (${d.digest}) has no diff_id in the config`,
      ]);
    }
    // Every read of the layer is checked against the manifest's descriptor: a swapped or truncated blob
    // fails the read (an unpack, a push, a copy) before anyone can use what it gave.
    const path = store.path(d.digest);
    const layer = layerFromBlob({ digest: d.digest, diffId, size: d.size, mediaType: d.mediaType }, () =>
      verifiedStream(createReadStream(path), d.digest, d.size, `layer ${d.digest} in ${store.root}`),
    );
    return { ...layer, storedFile: () => path };
  });
}

export interface Layout {
  readonly dir: string;
  readonly blobs: BlobStore;
  /** The parsed `index.json`. */
  index(): Promise<IndexManifest>;
  /** Tag names (`org.opencontainers.image.ref.name`), sorted. */
  tags(): Promise<string[]>;
  /** The descriptor for `tag`; without a tag, the only entry (or the one tagged `latest`). */
  descriptor(tag?: string): Promise<Descriptor>;
  /** The image or index for `tag`, lazily backed by the blobs. */
  resolve(tag?: string): Promise<ImageIndex | Image>;
  /** A stream of a blob's bytes. */
  blob(digest: Digest | string): Promise<Readable>;
  /** Entries of `index.json` that are not descriptors: left out of `index()`, never followed. */
  readonly skipped?: BadIndexEntry[];
}

/**
 * The `index.json` of the layout at `dir`, read for opening it: a missing file is `LayoutNotFoundError`, a
 * broken one (not JSON, `null`, `"manifests": {}`, a descriptor without a digest) an error naming the file.
 */
export async function parseIndexJson(dir: string): Promise<IndexManifest> {
  return parseIndexManifest(await readIndexBytes(dir), join(dir, 'index.json'));
}

async function readIndexBytes(dir: string): Promise<Buffer> {
  const file = join(dir, 'index.json');
  try {
    return await readFile(file);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw new LayoutNotFoundError(dir);
    throw new InvalidDocumentError(file, 'a readable file', [(cause as Error).message]);
  }
}

/** Open the layout at `dir`; throws `LayoutNotFoundError` when `oci-layout` or `index.json` is missing. */
export async function readLayout(dir: string): Promise<Layout> {
  try {
    await stat(join(dir, 'oci-layout'));
  } catch {
    throw new LayoutNotFoundError(dir);
  }
  // An entry that is not a descriptor is set aside (never followed); asking for its tag names its problems.
  const file = join(dir, 'index.json');
  const { index: idx, bad } = parseIndexSkippingBadEntries(await readIndexBytes(dir), file);
  const blobs = new BlobStore(dir);
  const tagsOf = () =>
    [...new Set(idx.manifests.map((m) => m.annotations?.[REF_NAME]).filter((t): t is string => !!t))].sort();
  const descriptor = async (tag?: string): Promise<Descriptor> => {
    if (tag !== undefined) {
      const found = idx.manifests.find((m) => m.annotations?.[REF_NAME] === tag);
      const broken = found ? undefined : bad.find((b) => b.name === tag);
      if (broken) throw new InvalidDocumentError(file, 'an image index', broken.problems);
      if (!found) throw new TagNotFoundError(dir, tag, tagsOf());
      return found;
    }
    // Referrers (untagged artifact entries) never make the choice ambiguous.
    const images = idx.manifests.filter((m) => !m.artifactType);
    if (images.length === 1) return images[0]!;
    if (images.length === 0 && bad.length)
      throw new InvalidDocumentError(
        file,
        'an image index',
        bad.flatMap((b) => b.problems),
      );
    const latest = idx.manifests.find((m) => m.annotations?.[REF_NAME] === 'latest');
    if (latest) return latest;
    throw new AmbiguousTagError(dir, tagsOf());
  };
  return {
    dir,
    blobs,
    index: async () => structuredClone(idx),
    tags: async () => tagsOf(),
    descriptor,
    resolve: async (tag) => loadDescriptor(blobs, await descriptor(tag)),
    blob: (d) => blobs.open(typeof d === 'string' ? Digest.parse(d) : d),
    skipped: bad,
  };
}
