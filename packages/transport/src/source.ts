/**
 * Sources: where an image is read from. Every kind gives the same view — the descriptor the reference
 * resolved to (the digest `run` runs and `verify` verifies), the image or index behind it, exact manifest
 * bytes, blob streams, referrers — and every byte it hands out has been checked against the descriptor that
 * names it (manifests and configs before they are returned, blob streams as they end: a stream whose bytes
 * are not the blob fails instead of ending).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  type Artifact,
  BlobNotFoundError,
  BlobStore,
  type Descriptor,
  DigestMismatchError,
  fullArchiveIndex,
  type Image,
  type ImageIndex,
  type ImageStore,
  isIndex,
  isManifest,
  type Lease,
  layoutReferrers,
  layoutReferrersOf,
  loadArtifact,
  loadDescriptor,
  MediaTypeError,
  parseIndexJson,
  readLayout,
  SizeMismatchError,
  serializeManifest,
  sha256,
  unpackArchive,
  verifiedStream,
  writeReferrers,
} from '@scratchpack/oci';
import type { ClientOptions } from '@scratchpack/registry';
import { TransportError } from './errors.ts';
import { type ImageRef, triedFor } from './ref.ts';
import { openRegistrySource } from './registry-source.ts';

export interface Source {
  readonly ref: ImageRef;
  /** The descriptor the reference resolved to: media type, digest, size. */
  readonly descriptor: Descriptor;
  /** The exact bytes of that manifest or index. */
  readonly raw: Buffer;
  /** The image or index, lazily backed by verified reads. */
  readonly subject: Image | ImageIndex;
  /** Exact bytes of a manifest (or config), checked against `d`. */
  manifest(d: Descriptor): Promise<Buffer>;
  /** A stream of a blob that fails at its end unless its bytes are the blob `d` names. */
  blob(d: Descriptor): Promise<Readable>;
  /** Referrers (SBOMs, provenance, signatures) of `digest`, optionally of one artifact type. */
  referrers(digest: string, artifactType?: string): Promise<Descriptor[]>;
  /** Every referrer of `digests` and of those, each with its subject, breadth first, each once. */
  referrersOf(digests: readonly string[]): Promise<{ subject: string; descriptor: Descriptor }[]>;
  artifact(d: Descriptor): Promise<Artifact>;
  /** Store artifacts beside their subjects; returns the fallback tags written (registries without the API). */
  attach(artifacts: Artifact[]): Promise<string[]>;
  close(): Promise<void>;
  /** Blobs (and bytes) downloaded so far, for sources that download. */
  readonly fetched?: { blobs: number; bytes: number };
}

export interface OpenOptions {
  /** Credentials, TLS and retry settings for registries. */
  client?: ClientOptions;
  /** The local store (`store:` names and the local-first lookup). */
  store?: ImageStore;
  signal?: AbortSignal | undefined;
  /** Blobs already here are read from it instead of being downloaded (a copy's destination). */
  cache?: BlobStore;
}

/** The bare descriptor (media type, digest, size) of a layout entry. */
function bare(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/** A source over a directory laid out as OCI (a layout, the store, an unpacked archive). */
async function directorySource(
  ref: ImageRef,
  dir: string,
  descriptor: Descriptor,
  cleanup: () => Promise<void>,
): Promise<Source> {
  const blobs = new BlobStore(dir);
  const manifest = async (d: Descriptor): Promise<Buffer> => {
    let raw: Buffer;
    try {
      raw = await readFile(blobs.path(d.digest));
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(dir, d.digest);
      throw cause;
    }
    if (raw.byteLength !== d.size)
      throw new SizeMismatchError(`blob ${d.digest} in ${dir}`, d.size, raw.byteLength);
    const actual = sha256(raw);
    if (!actual.equals(d.digest))
      throw new DigestMismatchError(`blob ${d.digest} in ${dir}`, d.digest, actual.toString());
    return raw;
  };
  try {
    const raw = await manifest(descriptor);
    const subject = await loadDescriptor(blobs, descriptor);
    return {
      ref,
      descriptor,
      raw,
      subject,
      manifest,
      blob: async (d) => {
        if (!(await blobs.has(d.digest))) throw new BlobNotFoundError(dir, d.digest);
        return verifiedStream(
          createReadStream(blobs.path(d.digest)),
          d.digest,
          d.size,
          `blob ${d.digest} in ${dir}`,
        );
      },
      referrers: (digest, type) => layoutReferrers(dir, digest, type),
      // One read of the index and of each artifact manifest, however many subjects.
      referrersOf: (digests) => layoutReferrersOf(dir, digests),
      artifact: (d) => loadArtifact(blobs, d),
      attach: async (artifacts) => {
        if (ref.kind === 'archive')
          throw new TransportError(
            'TRANSPORT_UNSUPPORTED',
            `cannot add referrers to the archive ${ref.file}`,
            {
              hint: `copy it into a layout or the store first (scratchpack copy ${ref.input} oci:DIR), sign that, then save it again`,
            },
          );
        await writeReferrers(dir, artifacts);
        return [];
      },
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The descriptor of `digest` in a layout: an index.json entry, or any manifest blob in it. */
async function layoutDigest(dir: string, digest: string): Promise<Descriptor> {
  const layout = await readLayout(dir);
  const entry = (await layout.index()).manifests.find((m) => m.digest === digest);
  if (entry) return bare(entry);
  if (!(await layout.blobs.has(digest))) throw new BlobNotFoundError(dir, digest);
  const raw = await layout.blobs.read(digest);
  const mediaType = (JSON.parse(raw.toString('utf8')) as { mediaType?: string }).mediaType ?? '';
  if (!isIndex(mediaType) && !isManifest(mediaType))
    throw new MediaTypeError(`${digest} in ${dir} is not an image manifest or index`);
  return { mediaType, digest, size: raw.byteLength };
}

async function openLayout(ref: Extract<ImageRef, { kind: 'layout' }>): Promise<Source> {
  const descriptor = ref.digest
    ? await layoutDigest(ref.dir, ref.digest)
    : bare(await (await readLayout(ref.dir)).descriptor(ref.tag));
  return directorySource(ref, ref.dir, descriptor, async () => {});
}

async function openStore(ref: Extract<ImageRef, { kind: 'store' }>, store: ImageStore): Promise<Source> {
  let lease: Lease | undefined;
  try {
    const opened = await store.openLeased(ref.name);
    lease = opened.lease;
    const held = lease;
    return await directorySource(ref, store.dir, bare(opened.image.descriptor), () => held.release());
  } catch (err) {
    await lease?.release();
    throw err;
  }
}

async function openArchive(
  ref: Extract<ImageRef, { kind: 'archive' }>,
  signal?: AbortSignal,
): Promise<Source> {
  const dir = await mkdtemp(join(tmpdir(), 'scratchpack-archive-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await unpackArchive(createReadStream(ref.file), dir, ref.file, signal);
    // An archive's index.json lists each image once; every tag and referrer is in the full index it names.
    const listed = await parseIndexJson(dir);
    const full = await fullArchiveIndex(listed, new BlobStore(dir), ref.file);
    if (full !== listed)
      await writeFile(join(dir, 'index.json'), Buffer.concat([serializeManifest(full), Buffer.from('\n')]));
    const layout = await readLayout(dir);
    return await directorySource(ref, dir, bare(await layout.descriptor(ref.tag)), cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Open `ref` for reading. A store name needs `options.store`. */
export async function openSource(ref: ImageRef, options: OpenOptions = {}): Promise<Source> {
  switch (ref.kind) {
    case 'layout':
      return openLayout(ref);
    case 'archive':
      return openArchive(ref, options.signal);
    case 'store':
      if (!options.store) throw new TypeError('openSource: a store reference needs options.store');
      return openStore(ref, options.store);
    case 'registry':
      try {
        return await openRegistrySource(ref, options.client ?? {}, options.cache);
      } catch (err) {
        // An unprefixed name that was neither on disk nor in the store: say everything that was tried.
        if (ref.input.startsWith('docker://') || (err as { code?: string }).code === 'ABORTED') throw err;
        const e = err as Error & { hint?: string };
        throw new TransportError(
          'TRANSPORT_NOT_FOUND',
          `${ref.input}: ${[...triedFor(ref.input), `registry: ${e.message}`].join('; ')}`,
          { hint: e.hint ?? 'check the name (scratchpack images lists the store)', cause: err },
        );
      }
  }
}
