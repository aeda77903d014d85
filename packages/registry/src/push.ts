import { Readable } from 'node:stream';
import { type Artifact, formatPlatform, type Image, type ImageIndex, isImageIndex } from '@scratchpack/oci';
import { pushScopes } from './auth.ts';
import { blobExists, mountBlob, type UploadSession } from './blobs.ts';
import { type ClientOptions, clientFor, type RegistryClient, type RetryEvent } from './client.ts';
import { ImageError, InvalidReferenceError } from './errors.ts';
import { mapLimit } from './limit.ts';
import { putManifest } from './manifests.ts';
import { formatReference, isValidTag, parseReference, type Reference } from './reference.ts';
import { pushReferrers } from './referrers.ts';
import { type PushBlob, uploadBlob } from './upload.ts';
import type { WaitEvent } from './watchdog.ts';

export interface PushOptions extends ClientOptions {
  /** Tags to point at the pushed image, set last. The target's own tag is included; default `latest`. */
  tags?: string[];
  /** Uploads of blobs over `SMALL_BLOB` in flight at once (default 4). */
  concurrency?: number;
  /**
   * Small requests in flight at once: blobs up to `SMALL_BLOB` (configs, SBOMs, signatures), manifests, referrers
   * and fallback tags (default 16, and never fewer than `concurrency`). They are round trips, not bandwidth.
   */
  requestConcurrency?: number;
  /** A repository on the same registry to mount blobs from instead of uploading them (`org/base`). */
  from?: string;
  chunkSize?: number;
  monolithicThreshold?: number;
  onProgress?: (event: PushEvent) => void;
  /** Use this client (and leave it open) instead of creating one. */
  client?: RegistryClient;
  /**
   * Referrers (SBOMs, provenance, signatures): their blobs go with the image's, their manifests and fallback tags
   * (in parallel) after their subjects, before the tags.
   */
  referrers?: Artifact[];
}

/** Blobs up to this size count as small requests (`requestConcurrency`), not as uploads (`concurrency`). */
export const SMALL_BLOB = 1024 * 1024;
const DEFAULT_REQUEST_CONCURRENCY = 16;

export type BlobOutcome = 'uploaded' | 'skipped' | 'mounted';

export type PushEvent =
  | { type: 'blob-start'; digest: string; size: number; kind: 'layer' | 'config' }
  | { type: 'blob-progress'; digest: string; size: number; bytes: number }
  | { type: 'blob-done'; digest: string; size: number; outcome: BlobOutcome; attempts: number }
  | { type: 'manifest-done'; digest: string; mediaType: string; platform?: string }
  | { type: 'index-done'; digest: string; mediaType: string }
  | { type: 'tag-done'; tag: string; digest: string }
  | { type: 'referrers-done'; count: number; fallbackTags: string[] }
  | RetryEvent
  | WaitEvent;

export interface BlobResult {
  digest: string;
  size: number;
  kind: 'layer' | 'config';
  outcome: BlobOutcome;
  /** Upload sessions used (1 unless a session was restarted). */
  attempts: number;
}

export interface PushResult {
  /** `registry/repository@digest` of what was pushed. */
  reference: string;
  /** Digest of the top-level manifest (the index, or the image when a single image was pushed). */
  digest: string;
  mediaType: string;
  /** The index digest when an index was pushed. */
  indexDigest: string | undefined;
  /** Image manifests put by digest. */
  manifests: string[];
  tags: string[];
  uploaded: number;
  skipped: number;
  mounted: number;
  bytesUploaded: number;
  /** Requests or upload sessions retried after a temporary failure. */
  retries: number;
  blobs: BlobResult[];
}

interface PlannedBlob extends PushBlob {
  kind: 'layer' | 'config';
}

/**
 * Push an image or an index to `target`, in an order that never publishes something incomplete:
 * 1. every blob (layers + configs, the referrers' too, deduplicated, `concurrency` at a time): HEAD → skip, else
 *    mount from `from`, else upload;
 * 2. each image manifest BY DIGEST (`concurrency` at a time);
 * 3. the index BY DIGEST; then the referrers' manifests and fallback-tag indexes (`concurrency` at a time);
 * 4. each tag, last. A push that fails anywhere before leaves no tag pointing at missing content.
 */
export async function push(
  source: ImageIndex | Image,
  target: string | Reference,
  options: PushOptions = {},
): Promise<PushResult> {
  const ref = typeof target === 'string' ? parseReference(target) : target;
  const tags = tagsFor(ref, options.tags);
  const from = mountSource(options.from, ref);
  const scopes = pushScopes(ref.repository, from);
  const emit = options.onProgress ?? (() => {});
  let retries = 0;
  const client = await clientFor(ref.registry, options, (event) => {
    retries++;
    emit(event);
  });

  try {
    const images = isImageIndex(source) ? (await source.images()).map((c) => c.image) : [source];
    const topDigest = (await source.digest()).toString();
    if (ref.digest && ref.digest !== topDigest) {
      throw new ImageError(
        'DIGEST_CONFLICT',
        `target ${formatReference(ref)} names a digest, but the image to push is ${topDigest}`,
        'push to a tag, or to the digest of the image being pushed',
      );
    }
    const blobs = await planBlobs(images, options.referrers ?? []);
    const concurrency = options.concurrency ?? 4;
    const requests = Math.max(concurrency, options.requestConcurrency ?? DEFAULT_REQUEST_CONCURRENCY);

    // 1. Blobs: large ones `concurrency` at a time, small ones `requests` at a time beside them.
    const isLarge = (b: PlannedBlob) => b.size > SMALL_BLOB;
    const settled = await Promise.allSettled([
      mapLimit(blobs.filter(isLarge), concurrency, pushBlob),
      mapLimit(
        blobs.filter((b) => !isLarge(b)),
        requests,
        pushBlob,
      ),
    ]);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    const byDigest = new Map(
      settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : [])).map((r) => [r.digest, r]),
    );
    const results = blobs.map((b) => byDigest.get(b.digest)!);
    async function pushBlob(blob: PlannedBlob): Promise<BlobResult> {
      emit({ type: 'blob-start', digest: blob.digest, size: blob.size, kind: blob.kind });
      const done = (outcome: BlobOutcome, attempts: number): BlobResult => {
        emit({ type: 'blob-done', digest: blob.digest, size: blob.size, outcome, attempts });
        return { digest: blob.digest, size: blob.size, kind: blob.kind, outcome, attempts };
      };
      if (await blobExists(client, ref.repository, blob.digest, scopes)) return done('skipped', 0);
      let session: UploadSession | undefined;
      if (from) {
        const mount = await mountBlob(client, ref.repository, blob.digest, from, scopes);
        if (mount.mounted) return done('mounted', 0);
        session = mount.session;
      }
      const { attempts } = await uploadBlob(client, ref.repository, blob, scopes, {
        ...(session && { session }),
        ...(options.chunkSize !== undefined && { chunkSize: options.chunkSize }),
        ...(options.monolithicThreshold !== undefined && {
          monolithicThreshold: options.monolithicThreshold,
        }),
        onProgress: (bytes) => emit({ type: 'blob-progress', digest: blob.digest, size: blob.size, bytes }),
      });
      return done('uploaded', attempts);
    }

    // 2. Image manifests, by digest.
    const manifests = await mapLimit(images, requests, async (image) => {
      const digest = await putManifest(
        client,
        ref.repository,
        (await image.digest()).toString(),
        await image.rawManifest(),
        image.mediaType(),
        scopes,
      );
      const config = await image.configFile();
      const platform = config.os && config.architecture ? formatPlatform(config) : undefined;
      emit({ type: 'manifest-done', digest, mediaType: image.mediaType(), ...(platform && { platform }) });
      return digest;
    });

    // 3. The index, by digest.
    const raw = await source.rawManifest();
    if (isImageIndex(source)) {
      await putManifest(client, ref.repository, topDigest, raw, source.mediaType(), scopes);
      emit({ type: 'index-done', digest: topDigest, mediaType: source.mediaType() });
    }

    // 3b. Referrers, after their subjects; the tags still move last.
    if (options.referrers?.length) {
      const r = await pushReferrers(client, ref.repository, options.referrers, scopes, {
        concurrency: requests,
        blobsPushed: true,
      });
      emit({ type: 'referrers-done', count: r.pushed.length, fallbackTags: r.fallbackTags });
    }

    // 4. Tags, last.
    for (const tag of tags) {
      await putManifest(client, ref.repository, tag, raw, source.mediaType(), scopes);
      emit({ type: 'tag-done', tag, digest: topDigest });
    }

    const count = (o: BlobOutcome) => results.filter((r) => r.outcome === o).length;
    return {
      reference: formatReference({ registry: ref.registry, repository: ref.repository, digest: topDigest }),
      digest: topDigest,
      mediaType: source.mediaType(),
      indexDigest: isImageIndex(source) ? topDigest : undefined,
      manifests,
      tags,
      uploaded: count('uploaded'),
      skipped: count('skipped'),
      mounted: count('mounted'),
      bytesUploaded: results.filter((r) => r.outcome === 'uploaded').reduce((n, r) => n + r.size, 0),
      retries,
      blobs: results,
    };
  } finally {
    if (!options.client) await client.close();
  }
}

/** Layers and configs of all images, then the referrers' blobs; each digest once, in first-seen order. */
async function planBlobs(images: Image[], referrers: readonly Artifact[]): Promise<PlannedBlob[]> {
  const seen = new Map<string, PlannedBlob>();
  for (const image of images) {
    for (const layer of await image.layers()) {
      const digest = (await layer.digest()).toString();
      if (!seen.has(digest)) {
        seen.set(digest, { digest, size: await layer.size(), kind: 'layer', open: () => layer.compressed() });
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
      });
    }
  }
  for (const a of referrers) {
    for (const { descriptor, bytes } of a.blobs) {
      if (seen.has(descriptor.digest)) continue;
      const kind = descriptor.digest === a.manifest.config.digest ? 'config' : 'layer';
      seen.set(descriptor.digest, {
        digest: descriptor.digest,
        size: descriptor.size,
        kind,
        open: () => Readable.from([bytes]),
      });
    }
  }
  return [...seen.values()];
}

function tagsFor(ref: Reference, extra: string[] | undefined): string[] {
  const tags = [...new Set([...(ref.tag ? [ref.tag] : []), ...(extra ?? [])])];
  for (const t of tags) {
    if (!isValidTag(t)) {
      throw new InvalidReferenceError(
        t,
        'invalid tag',
        'a tag is up to 128 of [A-Za-z0-9_.-] and does not start with "." or "-"',
      );
    }
  }
  if (tags.length === 0 && !ref.digest) tags.push('latest');
  return tags;
}

/** `from` as a repository on the target's registry: `org/base`, or a full reference on the same registry. */
function mountSource(from: string | undefined, target: Reference): string | undefined {
  if (!from) return undefined;
  const first = from.split('/')[0] ?? '';
  const hasHost = from.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasHost) return from;
  const parsed = parseReference(from);
  return parsed.registry === target.registry ? parsed.repository : undefined;
}
