/**
 * `copy`: the ONE pipeline from a source to a destination (containers/image's copy.Image, crane copy,
 * skopeo copy --all). pull, push, save, load and copy are this function with different references. All
 * platforms, their referrers (SBOMs, provenance, signatures), digests unchanged; blobs the destination has
 * are skipped (the layout's and store's writer checks first; a registry answers HEAD), and every byte read
 * from the source is checked against its digest on the way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type Artifact,
  BlobStore,
  type Image,
  type ImageIndex,
  type ImageStore,
  isImageIndex,
  mapLimit,
  parseImageName,
  pickPlatform,
  writeArchive,
  writeLayout,
  writeReferrers,
} from '@scratchpack/oci';
import {
  type ClientOptions,
  formatReference,
  type PushEvent,
  type PushResult,
  push,
} from '@scratchpack/registry';
import { TransportError } from './errors.ts';
import { describeRef, type ImageRef } from './ref.ts';
import type { Source } from './source.ts';

export interface PutOptions {
  client?: ClientOptions;
  store?: ImageStore;
  signal?: AbortSignal | undefined;
  /** Extra tags (registry and layout destinations). */
  tags?: string[];
  /** Registry destinations: a repository on the same registry to mount blobs from. */
  from?: string;
  chunkSize?: number;
  onPush?: (e: PushEvent) => void;
}

export interface PutResult {
  /** Where it went, for messages (`registry 127.0.0.1:5000/a:1`). */
  where: string;
  /** Digest of the top manifest written (unchanged from the source). */
  digest: string;
  blobsWritten: number;
  blobsSkipped: number;
  referrers: number;
  /** Registry destinations without the referrers API: the `sha256-<hex>` tags written instead. */
  fallbackTags: string[];
  tags: string[];
  /** The registry's answer, for a registry destination. */
  push?: PushResult;
}

/** The top digest and each platform image's digest of `subject`. */
export async function subjectDigests(subject: Image | ImageIndex): Promise<string[]> {
  const out = [(await subject.digest()).toString()];
  if (isImageIndex(subject)) for (const c of await subject.images()) out.push(c.descriptor.digest);
  return out;
}

/** Every referrer of the source's image (or `subject`) and its platform images, and of those, each once. */
export async function sourceReferrers(
  src: Source,
  subject: Image | ImageIndex = src.subject,
): Promise<Artifact[]> {
  const found = await src.referrersOf(await subjectDigests(subject));
  // Each is a few small reads (a layout) or requests (a registry): many at once, in the order found.
  return mapLimit(found, 16, (f) => src.artifact(f.descriptor));
}

async function putLayout(
  dir: string,
  tags: string[],
  subject: Image | ImageIndex,
  artifacts: Artifact[],
  o: PutOptions,
) {
  const r = await writeLayout(dir, subject, { tags, signal: o.signal });
  if (artifacts.length) await writeReferrers(dir, artifacts);
  return { descriptor: r.descriptor, written: r.blobsWritten, skipped: r.blobsSkipped };
}

/** Write `subject` and `artifacts` to `dst`. */
export async function putImage(
  dst: ImageRef,
  subject: Image | ImageIndex,
  referrers: Artifact[] | Promise<Artifact[]>,
  o: PutOptions = {},
): Promise<PutResult> {
  const where = describeRef(dst);
  const digest = (await subject.digest()).toString();
  const result = (
    artifacts: readonly Artifact[],
    written: number,
    skipped: number,
    tags: string[],
    fallbackTags: string[] = [],
  ): PutResult => ({
    where,
    digest,
    blobsWritten: written,
    blobsSkipped: skipped,
    referrers: artifacts.length,
    fallbackTags,
    tags,
  });
  if (dst.kind === 'registry') {
    // The push asks the registry about the repository while the referrers are still being read.
    let fallbackTags: string[] = [];
    const r = await push(subject, dst.reference, {
      ...o.client,
      ...(o.signal && { signal: o.signal }),
      tags: o.tags ?? [],
      referrers,
      ...(o.from && { from: o.from }),
      ...(o.chunkSize !== undefined && { chunkSize: o.chunkSize }),
      onProgress: (e) => {
        if (e.type === 'referrers-done') fallbackTags = e.fallbackTags;
        o.onPush?.(e);
      },
    });
    return {
      ...result(await referrers, r.uploaded, r.skipped + r.mounted, r.tags, fallbackTags),
      where: `registry ${formatReference(dst.reference)}`,
      push: r,
    };
  }
  // The other destinations write the referrers with the image: they need them first.
  const artifacts = await referrers;
  switch (dst.kind) {
    case 'layout': {
      if (dst.digest)
        throw new TransportError('TRANSPORT_UNSUPPORTED', `${dst.input}: write to a tag, not a digest`);
      const tags = [...new Set([dst.tag ?? 'latest', ...(o.tags ?? [])])];
      const r = await putLayout(dst.dir, tags, subject, artifacts, o);
      return result(artifacts, r.written, r.skipped, tags);
    }
    case 'archive': {
      const tags = [dst.tag ?? 'latest'];
      const tmp = await mkdtemp(join(dirname(dst.file), '.scratchpack-save-'));
      try {
        const r = await putLayout(tmp, tags, subject, artifacts, o);
        await writeArchive(tmp, dst.file, { signal: o.signal });
        return result(artifacts, r.written, r.skipped, tags);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
    case 'store': {
      if (!o.store) throw new TypeError('putImage: a store destination needs options.store');
      const store = o.store;
      const name = parseImageName(dst.name).familiar;
      const lease = await store.lease(`copy into ${name}`);
      try {
        const before = await countMissing(store, subject);
        await store.put(subject, [name], { signal: o.signal });
        if (artifacts.length) await writeReferrers(store.dir, artifacts);
        return result(artifacts, before.missing, before.total - before.missing, [name]);
      } finally {
        await lease.release();
      }
    }
  }
}

/** How many of the blobs `subject` needs the store lacks (for the "N written, M already there" line). */
async function countMissing(store: ImageStore, subject: Image | ImageIndex) {
  const blobs = new BlobStore(store.dir);
  const images = isImageIndex(subject) ? (await subject.images()).map((c) => c.image) : [subject];
  const all = new Map<string, number>();
  for (const img of images) {
    for (const l of (await img.manifest()).layers) all.set(l.digest, l.size);
    const c = await img.configDescriptor();
    all.set(c.digest, c.size);
  }
  let missing = 0;
  for (const [d, size] of all) if (!(await blobs.has(d, size))) missing++;
  return { missing, total: all.size };
}

export interface CopyOptions extends PutOptions {
  /** Leave the referrers behind (default: copy them). */
  referrers?: boolean;
  /** Only this platform's image of an index (its manifest as it is: same digest). */
  platform?: string;
}

/** Copy what `src` names to `dst`, with its referrers unless `referrers: false`. */
export async function copyImage(src: Source, dst: ImageRef, o: CopyOptions = {}): Promise<PutResult> {
  const subject = o.platform
    ? (await pickPlatform(src.subject, o.platform, describeRef(src.ref))).image
    : src.subject;
  const artifacts = o.referrers === false ? Promise.resolve([]) : sourceReferrers(src, subject);
  // Awaited by putImage (at once, or by a push once it has asked the registry about the repository).
  artifacts.catch(() => {});
  // Between repositories of one registry, blobs are mounted rather than sent through this machine.
  const sameRegistry =
    src.ref.kind === 'registry' &&
    dst.kind === 'registry' &&
    src.ref.reference.registry === dst.reference.registry;
  const from =
    o.from ?? (sameRegistry && src.ref.kind === 'registry' ? src.ref.reference.repository : undefined);
  return putImage(dst, subject, artifacts, { ...o, ...(from && { from }) });
}
