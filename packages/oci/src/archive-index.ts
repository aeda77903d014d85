/**
 * The `index.json` of an OCI archive, shaped so other tools take it without being told which image:
 * containers/image (podman load, buildah from, skopeo copy `oci-archive:`) reads an archive without a name
 * only when `index.json` has exactly ONE entry. So an archive lists each image once — one multi-platform
 * index, named by `io.containerd.image.name` and `org.opencontainers.image.ref.name` — and the layout's
 * full index (every tag, the SBOM/provenance/signature referrers) travels as a blob that index.json's own
 * annotation `dev.scratchpack.archive.index` points to. Other tools ignore top-level annotations and
 * unlisted blobs (image-layout.md allows both); scratchpack's `load` reads the full index back.
 */
import type { BlobStore } from './blob-store.ts';
import { Digest, sha256 } from './digest.ts';
import { CONTAINERD_NAME, REF_NAME } from './layout-update.ts';
import { MediaTypes } from './media-types.ts';
import { parseIndexManifest } from './schema.ts';
import { InvalidArchiveError } from './store-errors.ts';
import { type Descriptor, type IndexManifest, serializeManifest } from './types.ts';

/** Annotation of an archive's `index.json`: the digest of the blob holding the layout's full index. */
export const ARCHIVE_INDEX = 'dev.scratchpack.archive.index';

export interface ArchiveIndex {
  /** The bytes of the archive's `index.json`. */
  indexJson: Buffer;
  /** The full index as a blob (every name and referrer), when index.json leaves something out. */
  full?: { digest: string; bytes: Buffer };
}

/**
 * `index.json` for an archive of `entries` (a layout's entries: tagged images and untagged referrers): one entry
 * per image digest, named by its `latest` tag (or `NAME:latest`) when it has one, else its first; `imageName` names entries that
 * have a tag but no `io.containerd.image.name`.
 */
export function archiveIndex(entries: Descriptor[], imageName?: string): ArchiveIndex {
  const full: IndexManifest = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: entries };
  const byDigest = new Map<string, Descriptor[]>();
  // Per-platform names (`--platform-tags`, entries with a `platform`) are images inside an index listed too.
  const wholeImages = entries.filter((e) => !e.artifactType && !e.platform);
  for (const e of entries) {
    if (e.artifactType) continue; // referrers are not images to load
    if (e.platform && wholeImages.length) continue;
    byDigest.set(e.digest, [...(byDigest.get(e.digest) ?? []), e]);
  }
  const manifests = [...byDigest.values()].map((group) => {
    const isLatest = (ref = '') => ref === 'latest' || ref.endsWith(':latest');
    const chosen = group.find((e) => isLatest(e.annotations?.[REF_NAME])) ?? group[0]!;
    const annotations = { ...chosen.annotations };
    const tag = annotations[REF_NAME];
    if (imageName && tag && !annotations[CONTAINERD_NAME])
      annotations[CONTAINERD_NAME] = `${imageName}:${tag}`;
    const { annotations: _, ...rest } = chosen;
    return Object.keys(annotations).length ? { ...rest, annotations } : rest;
  });
  const index: IndexManifest = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
  // Nothing left out (no referrers, one name per image): index.json is the whole story.
  if (manifests.length === entries.length) return { indexJson: withNewline(serializeManifest(index)) };
  const bytes = serializeManifest(full);
  const digest = sha256(bytes).toString();
  index.annotations = { [ARCHIVE_INDEX]: digest };
  return { indexJson: withNewline(serializeManifest(index)), full: { digest, bytes } };
}

const withNewline = (b: Buffer) => Buffer.concat([b, Buffer.from('\n')]);

/**
 * The full index of an unpacked archive: the blob its `index.json` points to with `dev.scratchpack.archive.index`
 * (already checked against its digest when unpacked), else `index.json` itself (archives of other tools).
 */
export async function fullArchiveIndex(
  index: IndexManifest,
  blobs: BlobStore,
  source: string,
): Promise<IndexManifest> {
  const ref = index.annotations?.[ARCHIVE_INDEX];
  if (ref === undefined) return index;
  let digest: Digest;
  try {
    digest = Digest.parse(ref);
  } catch {
    throw new InvalidArchiveError(
      source,
      `index.json's ${ARCHIVE_INDEX} is not a digest (${JSON.stringify(ref)})`,
    );
  }
  if (!(await blobs.has(digest)))
    throw new InvalidArchiveError(
      source,
      `the full index ${ref} that index.json names is not in the archive`,
    );
  return parseIndexManifest(await blobs.read(digest), `${source}: full index ${ref}`);
}
