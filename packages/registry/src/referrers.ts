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
import { mapLimit } from './limit.ts';
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
  await pushArtifactBlobs(client, repository, [a], scopes, 1);
  return putArtifactManifest(client, repository, a, scopes);
}

/** The blobs of `artifacts` (each digest once: they share the empty config), `concurrency` at a time. */
async function pushArtifactBlobs(
  client: RegistryClient,
  repository: string,
  artifacts: readonly Artifact[],
  scopes: readonly string[],
  concurrency: number,
): Promise<void> {
  const blobs = new Map<string, { size: number; bytes: Buffer }>();
  for (const a of artifacts)
    for (const b of a.blobs) blobs.set(b.descriptor.digest, { size: b.descriptor.size, bytes: b.bytes });
  await mapLimit([...blobs], concurrency, async ([digest, { size, bytes }]) => {
    if (await blobExists(client, repository, digest, scopes)) return;
    await uploadBlob(client, repository, { digest, size, open: () => Readable.from([bytes]) }, scopes);
  });
}

/** PUT an artifact's manifest by digest (its blobs are there). True when the registry said `OCI-Subject`. */
async function putArtifactManifest(
  client: RegistryClient,
  repository: string,
  a: Artifact,
  scopes: readonly string[],
): Promise<boolean> {
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

export interface PushReferrersOptions {
  /** Requests in flight at once (default 4): blobs, then manifests, then fallback tags. */
  concurrency?: number;
  /** The artifacts' blobs are in the repository already (`push` uploads them with the image's). */
  blobsPushed?: boolean;
}

/**
 * Push `artifacts` (their subjects must be in the repository already): their blobs, then their manifests — in
 * parallel, an artifact only after any artifact of the batch it refers to — then, for those the registry did not
 * index itself, each subject's fallback tag once (in parallel: one tag per subject).
 */
export async function pushReferrers(
  client: RegistryClient,
  repository: string,
  artifacts: Artifact[],
  scopes: readonly string[],
  options: PushReferrersOptions = {},
): Promise<ReferrersPushResult> {
  const concurrency = Math.max(1, options.concurrency ?? 4);
  if (!options.blobsPushed) await pushArtifactBlobs(client, repository, artifacts, scopes, concurrency);
  const indexed = new Map<string, boolean>();
  let waiting = [...artifacts];
  while (waiting.length > 0) {
    const later = new Set(waiting.map((a) => a.descriptor.digest));
    const ready = waiting.filter((a) => !later.has(a.manifest.subject?.digest ?? ''));
    // A batch in which every artifact refers to another of it cannot be ordered (nor made: digests).
    const wave = ready.length > 0 ? ready : waiting;
    const said = await mapLimit(wave, concurrency, (a) => putArtifactManifest(client, repository, a, scopes));
    for (const [i, a] of wave.entries()) indexed.set(a.descriptor.digest, said[i]!);
    waiting = waiting.filter((a) => !wave.includes(a));
  }
  const pending = new Map<string, Descriptor[]>();
  for (const a of artifacts) {
    const subject = a.manifest.subject?.digest;
    if (!indexed.get(a.descriptor.digest) && subject)
      pending.set(subject, [...(pending.get(subject) ?? []), a.descriptor]);
  }
  await mapLimit([...pending], concurrency, ([subject, descriptors]) =>
    updateFallbackTag(client, repository, subject, descriptors, scopes),
  );
  return {
    pushed: artifacts.map((a) => a.descriptor.digest),
    fallbackTags: [...pending.keys()].map((subject) => referrersTag(subject)),
  };
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
