/**
 * A registry image, lazily: the manifest the reference names is fetched (and checked against its digest) when
 * the source opens; child manifests and configs when asked for; layers only when their bytes are read — so a
 * copy into a place that already has a layer never downloads it (go-containerregistry's remote.Image).
 */
import { PassThrough, type Readable } from 'node:stream';
import {
  type BlobStore,
  type Descriptor,
  type Image,
  type ImageIndex,
  imageFromRaw,
  indexFromRaw,
  isIndex,
  isManifest,
  layerFromBlob,
  MediaTypeError,
  SizeMismatchError,
  ValidationError,
  verifiedStream,
  walkReferrers,
} from '@scratchpack/oci';
import {
  type ClientOptions,
  fetchArtifact,
  fetchBlob,
  formatReference,
  getManifest,
  listReferrers,
  manifestReference,
  pullScopes,
  pushReferrers,
  pushScopes,
  RegistryClient,
} from '@scratchpack/registry';
import type { ImageRef } from './ref.ts';
import type { Source } from './source.ts';

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A stream that is `open()`'s once it resolves (errors included): for the synchronous `Layer.compressed()`. */
function deferred(open: () => Promise<Readable>): Readable {
  const out = new PassThrough();
  open().then(
    (s) => {
      s.on('error', (e) => out.destroy(e));
      out.on('close', () => s.destroy());
      s.pipe(out);
    },
    (e) => out.destroy(e),
  );
  return out;
}

export async function openRegistrySource(
  ref: Extract<ImageRef, { kind: 'registry' }>,
  options: ClientOptions,
  cache?: BlobStore,
): Promise<Source> {
  const r = ref.reference;
  const repo = r.repository;
  const name = formatReference({ registry: r.registry, repository: repo });
  const scopes = pullScopes(repo);
  const client = await RegistryClient.create(r.registry, options);
  const fetched = { blobs: 0, bytes: 0 };
  try {
    const manifest = async (d: Descriptor): Promise<Buffer> => {
      if (isIndex(d.mediaType) || isManifest(d.mediaType)) {
        const m = await getManifest(client, repo, d.digest, scopes); // checked against the digest
        if (m.bytes.byteLength !== d.size)
          throw new SizeMismatchError(`manifest ${d.digest} from ${name}`, d.size, m.bytes.byteLength);
        return m.bytes;
      }
      return collect(await blob(d));
    };
    const blob = async (d: Descriptor): Promise<Readable> => {
      // A blob the destination already has is read from there (still checked), not downloaded again.
      if (cache && (await cache.has(d.digest, d.size)))
        return verifiedStream(
          await cache.open(d.digest),
          d.digest,
          d.size,
          `blob ${d.digest} in ${cache.root}`,
        );
      fetched.blobs++;
      fetched.bytes += d.size;
      return verifiedStream(
        await fetchBlob(client, repo, d.digest, scopes, { size: d.size }),
        d.digest,
        d.size,
        `blob ${d.digest} from ${name}`,
      );
    };
    const image = async (d: Descriptor, raw: Buffer): Promise<Image> => {
      const m = JSON.parse(raw.toString('utf8')) as { config: Descriptor };
      const rawConfig = await collect(await blob(m.config));
      return imageFromRaw(raw, rawConfig, (l, diffId, i) => {
        if (!diffId)
          throw new ValidationError(`image ${d.digest} from ${name}`, [
            `layer ${i} (${l.digest}) has no diff_id`,
          ]);
        return layerFromBlob({ digest: l.digest, diffId, size: l.size, mediaType: l.mediaType }, () =>
          deferred(() => blob(l)),
        );
      });
    };
    const top = await getManifest(client, repo, manifestReference(r), scopes);
    const descriptor: Descriptor = {
      mediaType: top.mediaType,
      digest: top.digest,
      size: top.bytes.byteLength,
    };
    let subject: Image | ImageIndex;
    if (isIndex(top.mediaType)) {
      subject = indexFromRaw(top.bytes, async (c) => image(c, await manifest(c)));
    } else if (isManifest(top.mediaType)) {
      subject = await image(descriptor, top.bytes);
    } else {
      throw new MediaTypeError(`${formatReference(r)} is a ${top.mediaType}, not an image or index`);
    }
    return {
      ref,
      descriptor,
      raw: top.bytes,
      subject,
      manifest,
      blob,
      referrers: async (digest, type) =>
        (await listReferrers(client, repo, digest, scopes, type)).descriptors,
      referrersOf: (digests) =>
        walkReferrers(digests, async (d) => (await listReferrers(client, repo, d, scopes)).descriptors),
      artifact: (d) => fetchArtifact(client, repo, d, scopes),
      attach: async (artifacts) =>
        (await pushReferrers(client, repo, artifacts, pushScopes(repo))).fallbackTags,
      fetched,
      close: () => client.close(),
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}
