import {
  BlobStore,
  type Descriptor,
  formatPlatform,
  type IndexManifest,
  InvalidDocumentError,
  isIndex,
  isManifest,
  loadDescriptor,
  MAX_MANIFEST_BYTES,
  type Manifest,
  mapLimit,
  OciError,
  type Platform,
  platformMatches,
  writeLayout,
} from '@scratchpack/oci';
import { pullScopes } from './auth.ts';
import { fetchBlob } from './blobs.ts';
import { type ClientOptions, clientFor, type RegistryClient, type RetryEvent } from './client.ts';
import { ConnectionError, ImageError, ProtocolError, RegistryClientError } from './errors.ts';
import { type FetchedManifest, getManifest } from './manifests.ts';
import { formatReference, manifestReference, parseReference, type Reference } from './reference.ts';
import { withRetry } from './retry.ts';
import type { WaitEvent } from './watchdog.ts';

export interface PullOptions extends ClientOptions {
  /**
   * Tag to give the pulled image in the layout; default the reference's tag, else `latest` — except for a
   * reference by digest alone, which is written untagged.
   */
  tag?: string;
  /**
   * Keep only the child of an index matching this platform (`linux/arm64`, see oci's `platformMatches`).
   * The layout then holds that image manifest itself, byte for byte as in the registry (same digest), not a
   * new one-entry index that would exist nowhere else.
   */
  platform?: Platform | string;
  /** Blob downloads in flight at once (default 4). */
  concurrency?: number;
  onProgress?: (event: PullEvent) => void;
  /** Use this client (and leave it open) instead of creating one. */
  client?: RegistryClient;
}

export type PullEvent =
  | { type: 'manifest'; digest: string; mediaType: string }
  | { type: 'blob-done'; digest: string; size: number; fetched: boolean }
  | RetryEvent
  | WaitEvent;

export interface PullResult {
  /** `registry/repository@digest` of what was written to the layout. */
  reference: string;
  /** Digest of the manifest written to the layout's `index.json` (the child when `platform` was given). */
  digest: string;
  mediaType: string;
  /** Digest of the top-level manifest the reference resolved to in the registry. */
  remoteDigest: string;
  tag: string | undefined;
  /** The platform kept, when `platform` was given. */
  platform: string | undefined;
  blobsFetched: number;
  blobsSkipped: number;
  bytesFetched: number;
}

/**
 * Pull `reference` into the OCI layout at `layoutDir` (created if needed; other tags are kept):
 * resolve the manifest (Accept: OCI + Docker, both index and image), fetch every blob not already in the layout
 * through oci's blob writer (which verifies digest and size before renaming into place), then let oci's
 * `writeLayout` point `tag` at it. Digests are unchanged: a pushed index pulls back to the same bytes.
 */
export async function pull(
  reference: string | Reference,
  layoutDir: string,
  options: PullOptions = {},
): Promise<PullResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const tag = options.tag ?? ref.tag ?? (ref.digest ? undefined : 'latest');
  const scopes = pullScopes(ref.repository);
  const emit = options.onProgress ?? (() => {});
  const client = await clientFor(ref.registry, options, emit);
  const store = new BlobStore(layoutDir);
  const stats = { fetched: 0, skipped: 0, bytes: 0 };

  const manifest = async (reference: string): Promise<FetchedManifest> => {
    const m = await getManifest(client, ref.repository, reference, scopes);
    emit({ type: 'manifest', digest: m.digest, mediaType: m.mediaType });
    return m;
  };
  const blob = async (d: Descriptor): Promise<void> => {
    if (await store.has(d.digest, d.size)) {
      stats.skipped++;
      emit({ type: 'blob-done', digest: d.digest, size: d.size, fetched: false });
      return;
    }
    await withRetry(
      async () => {
        const body = await fetchBlob(client, ref.repository, d.digest, scopes, {
          retry: false,
          size: d.size,
        });
        // The connection may break before the blob store starts reading (it checks the file first):
        // without a listener that 'error' event would crash the process. The store's pipeline still sees
        // the error (the stream is destroyed with it) and the download is retried.
        body.on('error', () => {});
        try {
          await store.write(d.digest, d.size, () => body, { signal: options.signal });
        } catch (err) {
          // A body that breaks mid-stream surfaces as a raw socket error: make it a (retryable) ConnectionError.
          // (After an abort, withRetry turns whatever this is into AbortedError and stops.)
          if (err instanceof RegistryClientError || options.signal?.aborted) throw err;
          if (err instanceof OciError) {
            // The bytes are not the blob asked for (too short, another digest): say which registry sent them.
            if (err.code !== 'OCI_SIZE_MISMATCH' && err.code !== 'OCI_DIGEST_MISMATCH') throw err;
            const url = client.url(ref.repository, `blobs/${d.digest}`);
            throw new ProtocolError(
              err.code === 'OCI_SIZE_MISMATCH' ? 'SIZE_MISMATCH' : 'DIGEST_MISMATCH',
              `GET ${url.origin}${url.pathname}: ${err.message}`,
              `the registry at ${url.host} serves a corrupted or different blob; nothing was kept — retry, and report it to the registry operator if it persists`,
            );
          }
          throw new ConnectionError('GET', client.url(ref.repository, `blobs/${d.digest}`), err);
        } finally {
          body.destroy();
        }
      },
      client.policy,
      client.onRetry,
      options.signal,
    );
    stats.fetched++;
    stats.bytes += d.size;
    emit({ type: 'blob-done', digest: d.digest, size: d.size, fetched: true });
  };

  /** A single image asked for by platform: its config must say that platform. */
  const checkSinglePlatform = async (image: FetchedManifest, want: Platform | string): Promise<string> => {
    const config = (JSON.parse(image.bytes.toString('utf8')) as Manifest).config;
    if (config.size > MAX_MANIFEST_BYTES) throw configTooLarge(config);
    await blob(config);
    const file = configPlatform(await store.read(config.digest), config.digest);
    const have = formatPlatform({
      os: file.os,
      architecture: file.architecture,
      ...(file.variant && { variant: file.variant }),
    });
    if (!platformMatches(want, have)) {
      throw new ImageError(
        'PLATFORM_NOT_FOUND',
        `${formatReference(ref)} is a single image for ${have}`,
        'pull without --platform, or ask for the platform the image was built for',
      );
    }
    return have;
  };

  try {
    const top = await manifest(manifestReference(ref));
    let subject = top;
    let platform: string | undefined;
    let children: FetchedManifest[] = [];
    if (isIndex(top.mediaType)) {
      const index = JSON.parse(top.bytes.toString('utf8')) as IndexManifest;
      let entries = index.manifests;
      if (options.platform !== undefined) {
        const want = options.platform;
        const match = entries.find(
          (d) => d.platform && isManifest(d.mediaType) && platformMatches(want, d.platform),
        );
        if (!match) {
          const have = entries.filter((d) => d.platform).map((d) => formatPlatform(d.platform!));
          throw new ImageError(
            'PLATFORM_NOT_FOUND',
            `${formatReference(ref)} has no image for ${typeof want === 'string' ? want : formatPlatform(want)}`,
            `available: ${have.join(', ') || 'none'}`,
          );
        }
        platform = formatPlatform(match.platform!);
        entries = [match];
      }
      const nested = entries.find((d) => !isManifest(d.mediaType));
      if (nested) {
        throw new ImageError(
          'MANIFEST_UNSUPPORTED',
          `${formatReference(ref)} lists a ${nested.mediaType} (${nested.digest})`,
          'only indexes of image manifests can be pulled; pull that entry by digest',
        );
      }
      children = await mapLimit(entries, options.concurrency ?? 4, (d) => manifest(d.digest));
      if (options.platform !== undefined) subject = children[0]!;
    } else if (isManifest(top.mediaType)) {
      children = [top];
      if (options.platform !== undefined) platform = await checkSinglePlatform(top, options.platform);
    } else {
      throw new ImageError(
        'MANIFEST_UNSUPPORTED',
        `${formatReference(ref)} is a ${top.mediaType || 'manifest without mediaType'}`,
        'only OCI and Docker v2 images and indexes can be pulled',
      );
    }

    const blobs = new Map<string, Descriptor>();
    for (const child of children) {
      const m = JSON.parse(child.bytes.toString('utf8')) as Manifest;
      for (const d of [m.config, ...m.layers]) if (!blobs.has(d.digest)) blobs.set(d.digest, d);
    }
    await mapLimit([...blobs.values()], options.concurrency ?? 4, blob);

    for (const m of [...children, ...(subject === top && isIndex(top.mediaType) ? [top] : [])]) {
      await store.write(m.digest, m.bytes.length, m.bytes, { signal: options.signal });
    }
    const descriptor: Descriptor = {
      mediaType: subject.mediaType,
      digest: subject.digest,
      size: subject.bytes.length,
    };
    const loaded = await loadDescriptor(store, descriptor);
    await writeLayout(layoutDir, loaded, {
      tags: tag === undefined ? [] : [tag],
      imageName: `${ref.registry}/${ref.repository}`,
      signal: options.signal,
    });
    return {
      reference: formatReference({
        registry: ref.registry,
        repository: ref.repository,
        digest: subject.digest,
      }),
      digest: subject.digest,
      mediaType: subject.mediaType,
      remoteDigest: top.digest,
      tag,
      platform,
      blobsFetched: stats.fetched,
      blobsSkipped: stats.skipped,
      bytesFetched: stats.bytes,
    };
  } finally {
    if (!options.client) await client.close();
  }
}

function configTooLarge(config: Descriptor): ImageError {
  return new ImageError(
    'MANIFEST_UNSUPPORTED',
    `the image config ${config.digest} is ${config.size} bytes (more than 4 MiB is not an image config)`,
    'pull without --platform, or check the image',
  );
}

/** os/architecture/variant of an image config, checked before use. */
function configPlatform(bytes: Buffer, digest: string): Platform {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    doc = undefined;
  }
  const c = doc as Partial<Platform> | null | undefined;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.os !== 'string' ||
    typeof c.architecture !== 'string' ||
    (c.variant !== undefined && typeof c.variant !== 'string')
  ) {
    throw new InvalidDocumentError(`image config ${digest}`, 'an image config', [
      'expected a JSON object with string "os" and "architecture"',
    ]);
  }
  return { os: c.os, architecture: c.architecture, ...(c.variant && { variant: c.variant }) };
}
