/**
 * What a push learns about its target repository before it starts, in one or two requests
 * (distribution-spec "Listing Tags"): the repository's tags, and whether it is new. A new repository holds no
 * blob worth asking about and no fallback tag to merge with, so a first push skips those round trips.
 */

import { mapLimit } from '@scratchpack/oci';
import type { RegistryClient } from './client.ts';
import { headManifest } from './manifests.ts';
import { discard, readBounded } from './transport.ts';

/** A tag list longer than this (about 10,000 tags) is not read: the push asks tag by tag instead. */
const MAX_TAG_LIST_BYTES = 1024 * 1024;

export interface RepositoryState {
  /**
   * The registry does not know the repository (`NAME_UNKNOWN`) and has no manifest of the image being pushed:
   * nothing was pushed there, or only blobs of a push that stopped before its first tag.
   */
  fresh: boolean;
  /** Every tag of the repository, when one complete answer listed them; undefined when not known. */
  tags: ReadonlySet<string> | undefined;
  /** Whether the manifest being pushed is there, when that was asked (a name the registry does not know). */
  manifestThere?: boolean;
}

/**
 * `GET /v2/<name>/tags/list`: the tags when the answer is complete (200, no `Link` to a next page), `unknown-name`
 * on 404 `NAME_UNKNOWN`, else undefined (a registry that refuses or pages the list is asked tag by tag).
 */
export async function listTags(
  client: RegistryClient,
  repository: string,
  scopes: readonly string[],
): Promise<Set<string> | 'unknown-name' | undefined> {
  const res = await client.request({
    method: 'GET',
    url: client.url(repository, 'tags/list'),
    answerLimit: MAX_TAG_LIST_BYTES,
    expect: [200, 401, 403, 404],
    scopes,
  });
  if (res.status !== 200 && res.status !== 404) {
    await discard(res);
    return undefined;
  }
  const body = await readBounded(res, MAX_TAG_LIST_BYTES, { truncate: true });
  if (body.byteLength >= MAX_TAG_LIST_BYTES) return undefined;
  let doc: { tags?: unknown; errors?: { code?: unknown }[] } | null;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (res.status === 404)
    return Array.isArray(doc?.errors) && doc.errors.some((e) => e?.code === 'NAME_UNKNOWN')
      ? 'unknown-name'
      : undefined;
  if (res.headers.get('link')) return undefined;
  const tags = doc?.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) return undefined;
  return new Set(tags);
}

/**
 * The target's state: the tag list, and when the registry does not know the repository, a HEAD of the manifest
 * about to be pushed (a push by digest leaves no tag: its repository is then known by that manifest).
 */
export async function repositoryState(
  client: RegistryClient,
  repository: string,
  manifestDigest: string,
  scopes: readonly string[],
): Promise<RepositoryState> {
  const tags = await listTags(client, repository, scopes);
  if (tags !== 'unknown-name') return { fresh: false, tags };
  const there = await headManifest(client, repository, manifestDigest, scopes);
  return there
    ? { fresh: false, tags: undefined, manifestThere: true }
    : { fresh: true, tags: new Set(), manifestThere: false };
}

/**
 * The manifests of a push the repository holds already, when its top manifest is there (a repeated push): then
 * each of `manifests` is asked for with a HEAD (`concurrency` at a time), and a manifest that is there proves its
 * blobs are (a registry takes a manifest only once what it names is there), so those need no HEAD each and the
 * manifest no PUT. Empty without a HEAD in a new repository, and after one HEAD when the top manifest is missing
 * (a new version: most of it is new).
 */
export async function presentManifests(
  client: RegistryClient,
  repository: string,
  state: RepositoryState,
  top: string,
  manifests: readonly string[],
  scopes: readonly string[],
  concurrency: number,
): Promise<Set<string>> {
  if (state.fresh) return new Set();
  if (!(state.manifestThere ?? (await headManifest(client, repository, top, scopes)))) return new Set();
  const rest = manifests.filter((d) => d !== top);
  const there = await mapLimit(rest, concurrency, async (d) =>
    (await headManifest(client, repository, d, scopes)) ? d : undefined,
  );
  return new Set([top, ...there.filter((d): d is string => d !== undefined)]);
}
