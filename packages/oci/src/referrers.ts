import { readFileSync } from 'node:fs';
import { type BlobSource, BlobStore } from './blob-store.ts';
import { Digest, sha256 } from './digest.ts';
import { DigestMismatchError, InvalidJsonError, SizeMismatchError } from './errors.ts';
import { REF_NAME, readLayout } from './layout.ts';
import { updateLayoutIndex } from './layout-update.ts';
import { mapLimit } from './limit.ts';
import { isIndex, MediaTypes } from './media-types.ts';
import {
  type Annotations,
  type Descriptor,
  type IndexManifest,
  type Manifest,
  serializeManifest,
} from './types.ts';

/** The empty JSON blob `{}` every config-less artifact uses as its config (image-spec manifest.md). */
export const EMPTY_JSON = Buffer.from('{}');
export const EMPTY_DESCRIPTOR: Readonly<Descriptor> = Object.freeze({
  mediaType: MediaTypes.ociEmpty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
});

/** A layer of an artifact: its bytes, or a file this process wrote and hashed (a large document, not held). */
export type ArtifactLayer = {
  mediaType: string;
  annotations?: Annotations;
} & ({ bytes: Buffer } | { file: string; digest: string; size: number });

/**
 * A blob of an artifact. A file-backed one (`file`) is copied into a layout by the kernel, and read only when
 * something asks for its `bytes` (a push, a check).
 */
export interface ArtifactBlob {
  descriptor: Descriptor;
  readonly bytes: Buffer;
  file?: string;
}

/** An artifact manifest with its exact bytes and every blob it names. */
export interface Artifact {
  /** The manifest's bytes (hashed, stored and pushed as they are). */
  raw: Buffer;
  manifest: Manifest;
  /** How a referrers index lists it: media type, digest, size, artifactType, annotations. */
  descriptor: Descriptor;
  /** The config (empty) and each layer, with bytes. */
  blobs: ArtifactBlob[];
}

/** The descriptor of a subject: media type, digest and size only. */
export function subjectDescriptor(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

function referrerDescriptor(raw: Buffer, m: Manifest): Descriptor {
  const d: Descriptor = { mediaType: m.mediaType, digest: sha256(raw).toString(), size: raw.byteLength };
  if (m.annotations && Object.keys(m.annotations).length) d.annotations = { ...m.annotations };
  d.artifactType = m.artifactType ?? m.config.mediaType;
  return d;
}

/** Build an artifact manifest: `artifactType`, the empty config, `layers`, `subject`, annotations. */
export function artifact(o: {
  artifactType: string;
  subject: Descriptor;
  layers: ArtifactLayer[];
  annotations?: Annotations;
}): Artifact {
  const layers = o.layers.map((l): ArtifactBlob => {
    const d: Descriptor =
      'file' in l
        ? { mediaType: l.mediaType, digest: Digest.parse(l.digest).toString(), size: l.size }
        : { mediaType: l.mediaType, digest: sha256(l.bytes).toString(), size: l.bytes.length };
    if (l.annotations && Object.keys(l.annotations).length) d.annotations = { ...l.annotations };
    if (!('file' in l)) return { descriptor: d, bytes: l.bytes };
    const file = l.file;
    return {
      descriptor: d,
      file,
      get bytes() {
        return readFileSync(file);
      },
    };
  });
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: o.artifactType,
    config: { ...EMPTY_DESCRIPTOR },
    layers: layers.map((l) => l.descriptor),
    subject: subjectDescriptor(o.subject),
  };
  if (o.annotations && Object.keys(o.annotations).length) manifest.annotations = { ...o.annotations };
  const raw = serializeManifest(manifest);
  return {
    raw,
    manifest,
    descriptor: referrerDescriptor(raw, manifest),
    blobs: [{ descriptor: { ...EMPTY_DESCRIPTOR }, bytes: EMPTY_JSON }, ...layers],
  };
}

/** An artifact from exact manifest bytes, its blobs supplied by `blob` (each verified). */
export async function artifactFromRaw(
  raw: Buffer,
  blob: (d: Descriptor) => Promise<Buffer>,
): Promise<Artifact> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(raw.toString('utf8')) as Manifest;
  } catch (cause) {
    throw new InvalidJsonError(`artifact manifest ${sha256(raw)}`, cause);
  }
  const blobs: Artifact['blobs'] = [];
  for (const d of [manifest.config, ...manifest.layers]) {
    const bytes = await blob(d);
    if (bytes.byteLength !== d.size)
      throw new SizeMismatchError(`blob ${d.digest}`, d.size, bytes.byteLength);
    const actual = sha256(bytes);
    if (!actual.equals(d.digest))
      throw new DigestMismatchError(`blob ${d.digest}`, d.digest, actual.toString());
    blobs.push({ descriptor: d, bytes });
  }
  return { raw, manifest, descriptor: referrerDescriptor(raw, manifest), blobs };
}

/** The artifact `descriptor` names in the layout's blob store. */
export async function loadArtifact(store: BlobStore, descriptor: Descriptor): Promise<Artifact> {
  const raw = await store.read(descriptor.digest);
  const actual = sha256(raw);
  if (!actual.equals(descriptor.digest))
    throw new DigestMismatchError(`artifact ${descriptor.digest}`, descriptor.digest, actual.toString());
  return artifactFromRaw(raw, (d) => store.read(d.digest));
}

/** The referrers fallback tag of a digest (distribution-spec): `sha256:<hex>` → `sha256-<hex>`. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}

/** A referrers index (distribution-spec) listing `descriptors`. */
export function referrersIndex(descriptors: Descriptor[]): IndexManifest {
  return { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: descriptors };
}

/** The subject digest of each artifact entry of `index.json`, read from its manifest. */
async function subjectsOf(store: BlobStore, entries: Descriptor[]): Promise<Map<string, string>> {
  // 32 at a time (one after another, the 45 referrers of the hello took tens of ms; all at once, a store with
  // thousands would run out of file descriptors), in entry order.
  const artifacts = entries.filter((e) => e.artifactType);
  const manifests = await mapLimit(
    artifacts,
    32,
    async (e) => JSON.parse((await store.read(e.digest)).toString('utf8')) as Manifest,
  );
  const out = new Map<string, string>();
  for (const [i, e] of artifacts.entries()) {
    const subject = manifests[i]!.subject;
    if (subject) out.set(e.digest, subject.digest);
  }
  return out;
}

/**
 * The artifact entries of `index` that belong to `live` (manifest digests): those whose subject is live, and
 * transitively those whose subject is such an artifact (a signature of an SBOM), in index order.
 */
export async function attachedReferrers(
  store: BlobStore,
  index: IndexManifest,
  live: Set<string>,
): Promise<Descriptor[]> {
  const artifacts = index.manifests.filter((e) => e.artifactType && !live.has(e.digest));
  const subjects = await subjectsOf(store, artifacts);
  const seen = new Set(live);
  let grew = true;
  while (grew) {
    grew = false;
    for (const a of artifacts) {
      const subject = subjects.get(a.digest);
      if (!seen.has(a.digest) && subject && seen.has(subject)) {
        seen.add(a.digest);
        grew = true;
      }
    }
  }
  return artifacts.filter((a) => seen.has(a.digest));
}

/** Every manifest digest reachable from the tagged entries (indexes and their children). */
async function reachableManifests(store: BlobStore, entries: Descriptor[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const e of entries) {
    if (e.artifactType) continue;
    out.add(e.digest);
    if (isIndex(e.mediaType)) {
      const idx = JSON.parse((await store.read(e.digest)).toString('utf8')) as IndexManifest;
      for (const c of idx.manifests) out.add(c.digest);
    }
  }
  return out;
}

/**
 * Add `artifacts` to the layout at `dir` as referrers: their blobs first, then `index.json` (temp + rename)
 * with one untagged entry each. Entries already there are kept once; artifacts whose subject (directly or
 * through another artifact) is no longer in the layout are dropped, so rebuilding does not pile them up.
 * With `replace`, an artifact also replaces the referrers of the same subject and artifactType (a rebuilt
 * SBOM replaces the old one; signatures are added without it, so several keys can sign).
 */
export async function writeReferrers(
  dir: string,
  artifacts: Artifact[],
  opts: { replace?: boolean } = {},
): Promise<void> {
  const store = new BlobStore(dir);
  // All at once (each is small, or a link to its spooled file): a few milliseconds of file calls each, in turn
  // they added up for an image with several referrers. A blob several artifacts share (the empty config) is
  // written once. `index.json` still comes after every one of them.
  const writeBlobs = async () => {
    const writes = new Map<string, Promise<boolean>>();
    const write = (d: Descriptor, source: BlobSource) => {
      if (!writes.has(d.digest)) writes.set(d.digest, store.write(d.digest, d.size, source));
    };
    for (const a of artifacts) {
      for (const b of a.blobs) write(b.descriptor, b.file ? { file: b.file } : b.bytes);
      write(a.descriptor, a.raw);
    }
    await Promise.all(writes.values());
  };
  await writeBlobs();
  await updateLayoutIndex(dir, async (current) => {
    // Again under the lock: a collection between the first write and the lock may have removed them.
    await writeBlobs();
    const index: IndexManifest = current ?? {
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [],
    };
    let entries = [...index.manifests];
    if (opts.replace) {
      const before = await subjectsOf(store, entries);
      entries = entries.filter(
        (e) =>
          !artifacts.some(
            (a) =>
              a.descriptor.artifactType === e.artifactType &&
              a.manifest.subject?.digest === before.get(e.digest) &&
              a.descriptor.digest !== e.digest,
          ),
      );
    }
    for (const a of artifacts)
      if (!entries.some((e) => e.digest === a.descriptor.digest)) entries.push(a.descriptor);
    const live = await reachableManifests(store, entries);
    const subjects = await subjectsOf(store, entries);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [digest, subject] of subjects) {
        if (!live.has(digest) && live.has(subject)) {
          live.add(digest);
          grew = true;
        }
      }
    }
    const kept = entries.filter((e) => !e.artifactType || live.has(e.digest));
    const untagged = kept.filter((m) => m.annotations?.[REF_NAME] === undefined);
    const tagged = kept.filter((m) => m.annotations?.[REF_NAME] !== undefined);
    return { ...index, manifests: [...untagged, ...tagged] };
  });
}

/**
 * The referrers of `digest` in the layout at `dir` (optionally of one `artifactType`), as a referrers index
 * lists them, in `index.json` order.
 */
export async function layoutReferrers(
  dir: string,
  digest: string,
  artifactType?: string,
): Promise<Descriptor[]> {
  const layout = await readLayout(dir);
  const entries = (await layout.index()).manifests.filter(
    (e) => e.artifactType && (!artifactType || e.artifactType === artifactType),
  );
  const subjects = await subjectsOf(layout.blobs, entries);
  return entries.filter((e) => subjects.get(e.digest) === digest);
}

/**
 * Every referrer of `digests` in the layout at `dir`, and referrers of those (a signature of an SBOM), each with
 * the digest it refers to, breadth first: the index and each artifact manifest are read once, whatever the count.
 */
export async function layoutReferrersOf(
  dir: string,
  digests: readonly string[],
): Promise<{ subject: string; descriptor: Descriptor }[]> {
  const layout = await readLayout(dir);
  const entries = (await layout.index()).manifests.filter((e) => e.artifactType);
  const subjects = await subjectsOf(layout.blobs, entries);
  const bySubject = new Map<string, Descriptor[]>();
  for (const e of entries) {
    const s = subjects.get(e.digest);
    if (s) bySubject.set(s, [...(bySubject.get(s) ?? []), e]);
  }
  return walkReferrers(digests, async (d) => bySubject.get(d) ?? []);
}

/** Breadth first from `digests` through `list` (referrers of referrers too), each referrer once. */
export async function walkReferrers(
  digests: readonly string[],
  list: (digest: string) => Promise<Descriptor[]>,
): Promise<{ subject: string; descriptor: Descriptor }[]> {
  const out: { subject: string; descriptor: Descriptor }[] = [];
  const seen = new Set<string>();
  const queue = [...digests];
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
    for (const r of await list(d)) {
      if (seen.has(r.digest)) continue;
      seen.add(r.digest);
      out.push({ subject: d, descriptor: r });
      queue.push(r.digest);
    }
  }
  return out;
}
