/**
 * Referrers over the distribution API (distribution-spec "Pushing Manifests with Subject", "Listing
 * Referrers"). Pushing: each artifact's blobs, then its manifest by digest; a registry that supports
 * referrers answers with `OCI-Subject`, otherwise the client keeps the fallback tag `sha256-<hex>` of the
 * subject: an index listing the referrers (GET it, 404 → empty, append what is missing, PUT it back).
 * Listing: `GET /v2/<name>/referrers/<digest>`, and the fallback tag when the API answers 404.
 */
import {
  type Artifact,
  type ArtifactBlob,
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
import { type Lane, Work } from './limit.ts';
import { findManifest, getManifest, putManifest } from './manifests.ts';
import { discard } from './transport.ts';
import { artifactPushBlob, uploadBlob } from './upload.ts';

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
  const work = new Work();
  const lane = work.lane(1);
  const blobs = artifactBlobSteps(work, lane, client, repository, [a], scopes);
  const said = work.task(lane, blobs, () => putArtifactManifest(client, repository, a, scopes));
  await work.settle();
  return said;
}

/** Steps putting the blobs of `artifacts` not there yet, each digest once (they share the empty config). */
function artifactBlobSteps(
  work: Work,
  lane: Lane,
  client: RegistryClient,
  repository: string,
  artifacts: readonly Artifact[],
  scopes: readonly string[],
): Promise<void>[] {
  const blobs = new Map<string, ArtifactBlob>();
  for (const a of artifacts)
    for (const b of a.blobs) if (!blobs.has(b.descriptor.digest)) blobs.set(b.descriptor.digest, b);
  return [...blobs.values()].map((b) =>
    work.task(lane, [], async () => {
      if (await blobExists(client, repository, b.descriptor.digest, scopes)) return;
      await uploadBlob(client, repository, artifactPushBlob(b), scopes);
    }),
  );
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

/** The referrers index at the fallback tag of `subject` (one GET), or undefined when the tag does not exist. */
async function fallbackIndex(
  client: RegistryClient,
  repository: string,
  subject: string,
  scopes: readonly string[],
): Promise<IndexManifest | undefined> {
  const m = await findManifest(client, repository, referrersTag(subject), scopes);
  return m && (JSON.parse(m.bytes.toString('utf8')) as IndexManifest);
}

/**
 * Add `descriptors` to the fallback tag of `subject` (created when missing; unchanged when all are listed).
 * `exists: false` says the tag is known to be absent (a new repository, or not in its tag list): it is written
 * without being read first.
 */
export async function updateFallbackTag(
  client: RegistryClient,
  repository: string,
  subject: string,
  descriptors: Descriptor[],
  scopes: readonly string[],
  exists?: boolean,
): Promise<boolean> {
  const current =
    (exists === false ? undefined : await fallbackIndex(client, repository, subject, scopes)) ??
    referrersIndex([]);
  const missing = descriptors.filter((d) => !current.manifests.some((m) => m.digest === d.digest));
  if (missing.length === 0) return false;
  const next = referrersIndex([...current.manifests, ...missing]);
  const raw = serializeManifest(next);
  await putManifest(client, repository, referrersTag(subject), raw, MediaTypes.ociIndex, scopes);
  return true;
}

export interface ReferrerSteps {
  /** Settles once what `a` needs from outside the batch is there: its blobs, its subject when pushed alongside. */
  ready: (a: Artifact) => Promise<unknown>;
  /** Whether a fallback tag exists: false when known absent (then it is not read), undefined when unknown. */
  tagExists?: (tag: string) => boolean | undefined;
  /** Whether the registry holds `a`'s manifest already (then it is not put again). */
  there?: (a: Artifact) => Promise<boolean>;
}

/**
 * The steps pushing `artifacts` within `work`: each manifest once `ready` says so and once any artifact of the
 * batch it refers to is there; then for each subject, once all its artifacts are, its fallback tag (only for
 * those the registry did not index itself: no `OCI-Subject`), written once with all of them.
 */
export function referrerSteps(
  work: Work,
  lane: Lane,
  client: RegistryClient,
  repository: string,
  artifacts: readonly Artifact[],
  scopes: readonly string[],
  steps: ReferrerSteps,
): Promise<ReferrersPushResult> {
  const byDigest = new Map(artifacts.map((a) => [a.descriptor.digest, a]));
  // Per artifact: whether the registry said `OCI-Subject` to its PUT, or 'there' (not put: it had it).
  const puts = new Map<string, Promise<boolean | 'there'>>();
  const putOf = (a: Artifact, path: Set<string>): Promise<boolean | 'there'> => {
    const known = puts.get(a.descriptor.digest);
    if (known) return known;
    // A subject in the batch goes first. (Digests make a cycle impossible; were there one, it is not waited on.)
    const parent = byDigest.get(a.manifest.subject?.digest ?? '');
    const inner = new Set(path).add(a.descriptor.digest);
    const after = parent && !inner.has(parent.descriptor.digest) ? [putOf(parent, inner)] : [];
    const p = work.task(
      lane,
      [steps.ready(a), ...after],
      async () =>
        (await steps.there?.(a)) ? ('there' as const) : putArtifactManifest(client, repository, a, scopes),
      true,
    );
    puts.set(a.descriptor.digest, p);
    return p;
  };
  const bySubject = new Map<string, Artifact[]>();
  for (const a of artifacts) {
    putOf(a, new Set());
    const subject = a.manifest.subject?.digest;
    if (subject) bySubject.set(subject, [...(bySubject.get(subject) ?? []), a]);
  }
  const tags = [...bySubject].map(([subject, list]) =>
    work.track(
      (async () => {
        const said = await Promise.all(list.map((a) => puts.get(a.descriptor.digest)!));
        const pending = list.filter((_, i) => said[i] !== true).map((a) => a.descriptor);
        if (pending.length === 0) return undefined;
        const tag = referrersTag(subject);
        const exists = steps.tagExists?.(tag);
        // All of them there before, and no fallback tag: the registry indexed them itself when they were put.
        if (exists === false && said.every((s) => s === 'there')) return undefined;
        await lane.run(() => updateFallbackTag(client, repository, subject, pending, scopes, exists), true);
        return tag;
      })(),
    ),
  );
  return work.track(
    (async () => {
      await Promise.all(puts.values());
      return {
        pushed: artifacts.map((a) => a.descriptor.digest),
        fallbackTags: (await Promise.all(tags)).filter((t): t is string => t !== undefined),
      };
    })(),
  );
}

export interface PushReferrersOptions {
  /** Requests in flight at once (default 4): blobs, manifests, fallback tags. */
  concurrency?: number;
  /** The artifacts' blobs are in the repository already. */
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
  const work = new Work();
  const lane = work.lane(options.concurrency ?? 4);
  const blobs = options.blobsPushed
    ? []
    : artifactBlobSteps(work, lane, client, repository, artifacts, scopes);
  const all = work.track(Promise.all(blobs));
  const result = referrerSteps(work, lane, client, repository, artifacts, scopes, { ready: () => all });
  await work.settle();
  return result;
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
