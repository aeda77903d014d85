/**
 * Referrers over the distribution API (distribution-spec "Pushing Manifests with Subject", "Listing
 * Referrers"). Pushing: each artifact's blobs, then its manifest by digest; a registry that supports
 * referrers answers with `OCI-Subject`, otherwise the client keeps the fallback tag `sha256-<hex>` of the
 * subject: an index listing the referrers (GET it, 404 → empty, append what is missing, PUT it back).
 * Listing: `GET /v2/<name>/referrers/<digest>`, and the fallback tag when the API answers 404.
 */
import { Readable } from 'node:stream';
import {
  type Artifact,
  artifactFromRaw,
  type Descriptor,
  type IndexManifest,
  MediaTypes,
  referrersIndex,
  referrersTag,
  serializeManifest,
  sha256,
} from '@scratchpack/oci';
import { blobExists, fetchBlob } from './blobs.ts';
import type { RegistryClient } from './client.ts';
import { ProtocolError } from './errors.ts';
import { getManifest, headManifest, putManifest } from './manifests.ts';
import { discard } from './transport.ts';
import { uploadBlob } from './upload.ts';

export interface ReferrersPushResult {
  /** Artifact manifests put. */
  pushed: string[];
  /** Fallback tags written (`sha256-<hex>`), when the registry has no referrers API. */
  fallbackTags: string[];
}

/** Put one artifact: blobs not there yet, then the manifest by digest. True when the registry said `OCI-Subject`. */
export async function pushArtifact(
  client: RegistryClient,
  repository: string,
  a: Artifact,
  scopes: readonly string[],
): Promise<boolean> {
  for (const b of a.blobs) {
    const { digest, size } = b.descriptor;
    if (await blobExists(client, repository, digest, scopes)) continue;
    await uploadBlob(client, repository, { digest, size, open: () => Readable.from([b.bytes]) }, scopes);
  }
  const url = client.url(repository, `manifests/${a.descriptor.digest}`);
  const res = await client.request({
    method: 'PUT',
    url,
    headers: { 'content-type': a.manifest.mediaType },
    body: a.raw,
    expect: [200, 201],
    scopes,
  });
  await discard(res);
  const announced = res.headers.get('docker-content-digest');
  if (announced && announced !== a.descriptor.digest) {
    throw new ProtocolError(
      'DIGEST_MISMATCH',
      `PUT ${url.origin}${url.pathname}: registry says ${announced}, the bytes are ${a.descriptor.digest}`,
      'the registry stored other bytes; retry, and report it if it persists',
    );
  }
  return res.headers.get('oci-subject') !== null;
}

/** The referrers index at the fallback tag of `subject`, or undefined when the tag does not exist. */
async function fallbackIndex(
  client: RegistryClient,
  repository: string,
  subject: string,
  scopes: readonly string[],
): Promise<IndexManifest | undefined> {
  const tag = referrersTag(subject);
  if (!(await headManifest(client, repository, tag, scopes))) return undefined;
  const m = await getManifest(client, repository, tag, scopes);
  return JSON.parse(m.bytes.toString('utf8')) as IndexManifest;
}

/** Add `descriptors` to the fallback tag of `subject` (created when missing; unchanged when all are listed). */
export async function updateFallbackTag(
  client: RegistryClient,
  repository: string,
  subject: string,
  descriptors: Descriptor[],
  scopes: readonly string[],
): Promise<boolean> {
  const current = (await fallbackIndex(client, repository, subject, scopes)) ?? referrersIndex([]);
  const missing = descriptors.filter((d) => !current.manifests.some((m) => m.digest === d.digest));
  if (missing.length === 0) return false;
  const next = referrersIndex([...current.manifests, ...missing]);
  const raw = serializeManifest(next);
  await putManifest(client, repository, referrersTag(subject), raw, MediaTypes.ociIndex, scopes);
  return true;
}

/**
 * Push `artifacts` (their subjects must be in the repository already), in order; for those the registry
 * did not index itself, update each subject's fallback tag once.
 */
export async function pushReferrers(
  client: RegistryClient,
  repository: string,
  artifacts: Artifact[],
  scopes: readonly string[],
): Promise<ReferrersPushResult> {
  const pending = new Map<string, Descriptor[]>();
  const pushed: string[] = [];
  for (const a of artifacts) {
    const indexed = await pushArtifact(client, repository, a, scopes);
    pushed.push(a.descriptor.digest);
    const subject = a.manifest.subject?.digest;
    if (!indexed && subject) pending.set(subject, [...(pending.get(subject) ?? []), a.descriptor]);
  }
  const fallbackTags: string[] = [];
  for (const [subject, descriptors] of pending) {
    await updateFallbackTag(client, repository, subject, descriptors, scopes);
    fallbackTags.push(referrersTag(subject));
  }
  return { pushed, fallbackTags };
}

/**
 * The referrers of `digest` (optionally of one artifact type): from the referrers API, or from the
 * fallback tag when the registry answers 404 there.
 */
export async function listReferrers(
  client: RegistryClient,
  repository: string,
  digest: string,
  scopes: readonly string[],
  artifactType?: string,
): Promise<{ descriptors: Descriptor[]; via: 'api' | 'tag' }> {
  const url = client.url(repository, `referrers/${digest}`);
  if (artifactType) url.searchParams.set('artifactType', artifactType);
  const res = await client.request({
    method: 'GET',
    url,
    headers: { accept: MediaTypes.ociIndex },
    expect: [200, 404],
    scopes,
  });
  const keep = (ds: Descriptor[]) => ds.filter((d) => !artifactType || d.artifactType === artifactType);
  if (res.status === 200) {
    const body = Buffer.from(await res.arrayBuffer());
    let index: IndexManifest;
    try {
      index = JSON.parse(body.toString('utf8')) as IndexManifest;
    } catch {
      throw new ProtocolError(
        'PROTOCOL_VIOLATION',
        `GET ${url}: referrers response is not JSON`,
        'check the registry',
      );
    }
    return { descriptors: keep(index.manifests ?? []), via: 'api' };
  }
  await discard(res);
  const index = await fallbackIndex(client, repository, digest, scopes);
  return { descriptors: keep(index?.manifests ?? []), via: 'tag' };
}

/** Fetch an artifact: its manifest by digest, then its (small) blobs into memory, each verified. */
export async function fetchArtifact(
  client: RegistryClient,
  repository: string,
  descriptor: Descriptor,
  scopes: readonly string[],
): Promise<Artifact> {
  const m = await getManifest(client, repository, descriptor.digest, scopes);
  if (!sha256(m.bytes).equals(descriptor.digest))
    throw new ProtocolError('DIGEST_MISMATCH', `referrer ${descriptor.digest}: other bytes`, 'retry');
  return artifactFromRaw(m.bytes, async (d) => {
    const chunks: Buffer[] = [];
    for await (const c of await fetchBlob(client, repository, d.digest, scopes)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  });
}
