import { type Artifact, formatPlatform, type Image, type ImageIndex, isImageIndex } from '@scratchpack/oci';
import { pushScopes } from './auth.ts';
import { blobExists, mountBlob, type UploadSession } from './blobs.ts';
import { type ClientOptions, clientFor, type RegistryClient, type RetryEvent } from './client.ts';
import { ImageError, InvalidReferenceError } from './errors.ts';
import { Work } from './limit.ts';
import { putManifest } from './manifests.ts';
import { type PlannedBlob, planBlobs, planImages } from './push-plan.ts';
import { formatReference, isValidTag, parseReference, type Reference } from './reference.ts';
import { referrerSteps } from './referrers.ts';
import { presentManifests, repositoryState } from './repository.ts';
import { uploadBlob } from './upload.ts';
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
   * (in parallel) after their subjects, before the tags. May still be being read: the registry is asked about
   * the repository meanwhile.
   */
  referrers?: Artifact[] | Promise<Artifact[]>;
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
  /** HTTP requests this push sent (its client's while it ran: ping, token, tag list, HEADs, uploads, manifests, tags). */
  requests: number;
  blobs: BlobResult[];
}

/**
 * Push an image or an index to `target`, in an order that never publishes something incomplete, as one graph of
 * bounded steps (a step starts as soon as what it names is there, not when a whole phase has ended):
 * 0. the tag list (one request): a repository the registry does not know gets no HEAD for its small blobs and no
 *    read of its fallback tags (there is nothing to find);
 * 1. every blob (layers + configs, the referrers' too, each digest once): HEAD → skip, else mount from `from`,
 *    else upload; large ones `concurrency` at a time, the rest `requestConcurrency` at a time;
 * 2. each image manifest BY DIGEST once its blobs are there; the index BY DIGEST once every image manifest is;
 * 3. each referrer once its blobs and its subject are there; each subject's fallback tag once all its referrers are;
 * 4. each tag, last, once everything else succeeded. A failure anywhere stops new steps and leaves no tag.
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
  const sentBefore = client.transport.requests;

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
    // The registry is asked while the push is planned (local reads).
    const asked = repositoryState(client, ref.repository, topDigest, scopes);
    asked.catch(() => {});
    const referrers = (await options.referrers) ?? [];
    const planned = await planImages(images);
    const blobs = await planBlobs(images, referrers);
    const raw = await source.rawManifest();
    const concurrency = options.concurrency ?? 4;
    const requests = Math.max(concurrency, options.requestConcurrency ?? DEFAULT_REQUEST_CONCURRENCY);
    const state = await asked;

    const work = new Work();
    const small = work.lane(requests);
    const large = work.lane(concurrency);
    // A repeated push: the manifests already there, each proving the blobs it names are (no HEAD each).
    const present = work.track(
      presentManifests(
        client,
        ref.repository,
        state,
        topDigest,
        [...planned.map((p) => p.digest), ...referrers.map((a) => a.descriptor.digest)],
        scopes,
        requests,
      ),
    );
    const namedBy = new Map<string, string[]>();
    const names = (blob: string, manifest: string) =>
      namedBy.set(blob, [...(namedBy.get(blob) ?? []), manifest]);
    for (const p of planned) for (const b of p.blobs) names(b, p.digest);
    for (const a of referrers) for (const b of a.blobs) names(b.descriptor.digest, a.descriptor.digest);

    // 1. Blobs: large ones `concurrency` at a time, small ones `requests` at a time beside them.
    const blobSteps = new Map<string, Promise<BlobResult>>();
    for (const b of blobs) {
      blobSteps.set(
        b.digest,
        work.task(b.size > SMALL_BLOB ? large : small, [present], () => pushBlob(b)),
      );
    }
    const blobsOf = (digests: readonly string[]) => digests.map((d) => blobSteps.get(d)!);
    async function pushBlob(blob: PlannedBlob): Promise<BlobResult> {
      emit({ type: 'blob-start', digest: blob.digest, size: blob.size, kind: blob.kind });
      const done = (outcome: BlobOutcome, attempts: number): BlobResult => {
        emit({ type: 'blob-done', digest: blob.digest, size: blob.size, outcome, attempts });
        return { digest: blob.digest, size: blob.size, kind: blob.kind, outcome, attempts };
      };
      const there = await present;
      if (namedBy.get(blob.digest)?.some((m) => there.has(m))) return done('skipped', 0);
      // A new repository holds no blob: asking costs a round trip per blob. A large blob is still asked for
      // (its upload costs more than a round trip, and a push that stopped early may have left it there).
      const ask = !state.fresh || blob.size > SMALL_BLOB;
      if (ask && (await blobExists(client, ref.repository, blob.digest, scopes))) return done('skipped', 0);
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

    // 2. Image manifests by digest, each once its blobs are there; the index once every image manifest is.
    const manifestSteps = new Map<string, Promise<unknown>>();
    for (const { image, digest, raw, blobs: digests } of planned) {
      const step = work.task(
        small,
        blobsOf(digests),
        async () => {
          if (!(await present).has(digest))
            await putManifest(client, ref.repository, digest, raw, image.mediaType(), scopes);
          const config = await image.configFile();
          const platform = config.os && config.architecture ? formatPlatform(config) : undefined;
          emit({
            type: 'manifest-done',
            digest,
            mediaType: image.mediaType(),
            ...(platform && { platform }),
          });
        },
        true,
      );
      manifestSteps.set(digest, step);
    }
    if (isImageIndex(source)) {
      const step = work.task(
        small,
        [...manifestSteps.values()],
        async () => {
          if (!(await present).has(topDigest))
            await putManifest(client, ref.repository, topDigest, raw, source.mediaType(), scopes);
          emit({ type: 'index-done', digest: topDigest, mediaType: source.mediaType() });
        },
        true,
      );
      manifestSteps.set(topDigest, step);
    }

    // 3. Referrers, each after its blobs and its subject; fallback tags after their subject's referrers.
    if (referrers.length) {
      const pushed = referrerSteps(work, small, client, ref.repository, referrers, scopes, {
        ready: (a) => {
          const subject = manifestSteps.get(a.manifest.subject?.digest ?? '');
          return Promise.all([
            ...blobsOf(a.blobs.map((b) => b.descriptor.digest)),
            ...(subject ? [subject] : []),
          ]);
        },
        tagExists: (tag) => state.tags?.has(tag),
        there: async (a) => (await present).has(a.descriptor.digest),
      });
      pushed.then(
        (r) => emit({ type: 'referrers-done', count: r.pushed.length, fallbackTags: r.fallbackTags }),
        () => {},
      );
    }
    await work.settle();

    // 4. Tags, last.
    for (const tag of tags) {
      await putManifest(client, ref.repository, tag, raw, source.mediaType(), scopes);
      emit({ type: 'tag-done', tag, digest: topDigest });
    }

    const results = await Promise.all(blobs.map((b) => blobSteps.get(b.digest)!));
    const count = (o: BlobOutcome) => results.filter((r) => r.outcome === o).length;
    return {
      reference: formatReference({ registry: ref.registry, repository: ref.repository, digest: topDigest }),
      digest: topDigest,
      mediaType: source.mediaType(),
      indexDigest: isImageIndex(source) ? topDigest : undefined,
      manifests: planned.map((p) => p.digest),
      tags,
      uploaded: count('uploaded'),
      skipped: count('skipped'),
      mounted: count('mounted'),
      bytesUploaded: results.filter((r) => r.outcome === 'uploaded').reduce((n, r) => n + r.size, 0),
      retries,
      requests: client.transport.requests - sentBefore,
      blobs: results,
    };
  } finally {
    if (!options.client) await client.close();
  }
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
