/**
 * `load`: an OCI archive (plain or gzip, from a file or a pipe) into the local store. The archive is
 * unpacked into a private temp layout inside the store (each blob verified against its digest as it is
 * written), then every named entry is stored like any other image: blobs, then the index under the lock.
 * Names come from `io.containerd.image.name`, or a full `ref.name` (`hello:1.0`), or — for archives
 * tagged with bare tags such as `latest` — `repository:tag` when a repository is given.
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { asAborted, throwIfAborted } from './abort.ts';
import { fullArchiveIndex } from './archive-index.ts';
import { BlobStore } from './blob-store.ts';
import { Digest } from './digest.ts';
import { isImageName, parseImageName } from './image-name.ts';
import { type Layout, loadDescriptor, readLayout } from './layout.ts';
import { CONTAINERD_NAME, REF_NAME } from './layout-update.ts';
import { isGzipMagic } from './parallel-gzip.ts';
import { loadArtifact, writeReferrers } from './referrers.ts';
import type { ImageStore } from './store.ts';
import { InvalidArchiveError } from './store-errors.ts';
import type { Descriptor } from './types.ts';

const MAX_JSON = 4 * 1024 * 1024;
const BLOB_RE = /^blobs\/sha256\/([0-9a-f]{64})$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface LoadResult {
  /** Familiar names stored, in archive order. */
  names: string[];
  /** Entries of the archive's index.json that had no usable name (skipped). */
  unnamed: number;
}

/** `input`, gunzipped when it starts with the gzip magic bytes. */
async function maybeGunzip(input: Readable): Promise<Readable> {
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : Buffer.from(first.value as Buffer);
  const all = Readable.from(
    (async function* () {
      if (head.length) yield head;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value as Buffer;
      }
    })(),
  );
  if (!isGzipMagic(head)) return all;
  return pipeline(all, createGunzip(), () => {});
}

async function readSmall(entry: Readable, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of entry) {
    n += (c as Buffer).length;
    if (n > MAX_JSON) throw new InvalidArchiveError(what, `larger than ${MAX_JSON} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Unpack the layout parts of an OCI archive into `dir`; blobs are verified as they are written. */
export async function unpackArchive(
  input: Readable,
  dir: string,
  source: string,
  signal?: AbortSignal,
): Promise<void> {
  const what = `loading ${source}`;
  throwIfAborted(signal, what);
  const blobs = new BlobStore(dir);
  const extract = tar.extract();
  const feeding = pipeline(await maybeGunzip(input), extract, () => {});
  const stop = () => feeding.destroy(new Error('aborted'));
  signal?.addEventListener('abort', stop, { once: true });
  let entries = 0;
  try {
    for await (const e of extract) {
      throwIfAborted(signal, what);
      const entry = e as unknown as Readable & { header: tar.Header };
      entries++;
      const name = entry.header.name.replace(/^(\.\/)+/, '');
      const blob = BLOB_RE.exec(name);
      // A blob (or index.json) that is a link would be read from outside the archive: refused, by name.
      if ((blob || name === 'index.json' || name === 'oci-layout') && entry.header.type !== 'file')
        throw new InvalidArchiveError(
          source,
          `${name} is a ${entry.header.type}${entry.header.linkname ? ` to ${entry.header.linkname}` : ''}, not a regular file; an OCI archive holds each blob as a file (re-create the archive with tar --dereference, or with scratchpack save)`,
        );
      if (entry.header.type === 'file' && blob) {
        await blobs.write(Digest.parse(`sha256:${blob[1]}`), entry.header.size ?? 0, () => entry, { signal });
        entry.resume(); // a repeated blob was skipped unread
      } else if (entry.header.type === 'file' && (name === 'index.json' || name === 'oci-layout')) {
        await writeFile(join(dir, name), await readSmall(entry, `${source}: ${name}`));
      } else {
        entry.resume(); // directories, Docker's manifest.json, anything else: not needed
      }
    }
  } catch (e) {
    feeding.destroy();
    if (signal?.aborted) throw asAborted(e, signal, what);
    if ((e as { code?: string }).code?.startsWith('OCI_') || e instanceof InvalidArchiveError) throw e;
    throw new InvalidArchiveError(source, `not a readable tar (${(e as Error).message})`);
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  throwIfAborted(signal, what);
  if (entries === 0) throw new InvalidArchiveError(source, 'empty input');
}

function nameFor(d: Descriptor, repository: string | undefined): string | undefined {
  const ref = d.annotations?.[REF_NAME];
  const full = d.annotations?.[CONTAINERD_NAME];
  if (repository && ref && TAG_RE.test(ref)) return parseImageName(`${repository}:${ref}`).familiar;
  if (full && isImageName(full)) return parseImageName(full).familiar;
  if (ref && /[:/]/.test(ref) && isImageName(ref)) return parseImageName(ref).familiar;
  return undefined;
}

/** Load the OCI archive `input` (named `source` in errors) into `store`. */
export async function loadArchive(
  store: ImageStore,
  input: Readable,
  opts: { source: string; repository?: string; signal?: AbortSignal | undefined },
): Promise<LoadResult> {
  if (opts.repository) parseImageName(opts.repository); // fail early on a bad name
  const { signal } = opts;
  return store.stage(async (tmp) => {
    await unpackArchive(input, tmp, opts.source, signal);
    let layout: Layout;
    try {
      layout = await readLayout(tmp);
    } catch {
      throw new InvalidArchiveError(opts.source, 'no oci-layout and index.json in it: not an OCI archive');
    }
    const byDigest = new Map<string, { descriptor: Descriptor; names: string[] }>();
    let unnamed = 0;
    const bare: string[] = [];
    const referrers: Descriptor[] = [];
    const index = await fullArchiveIndex(await layout.index(), layout.blobs, opts.source);
    for (const d of index.manifests) {
      if (d.artifactType) {
        referrers.push(d); // SBOMs, provenance, signatures: kept below when their subject is loaded
        continue;
      }
      const name = nameFor(d, opts.repository);
      if (!name) {
        unnamed++;
        const ref = d.annotations?.[REF_NAME];
        if (ref) bare.push(ref);
        continue;
      }
      const g = byDigest.get(d.digest) ?? {
        descriptor: { mediaType: d.mediaType, digest: d.digest, size: d.size },
        names: [],
      };
      if (!g.names.includes(name)) g.names.push(name);
      byDigest.set(d.digest, g);
    }
    if (byDigest.size === 0) {
      throw new InvalidArchiveError(
        opts.source,
        bare.length
          ? `its images are tagged ${bare.map((t) => JSON.stringify(t)).join(', ')} without a repository name; name one with --name REPOSITORY`
          : 'it holds no named image',
      );
    }
    const names: string[] = [];
    for (const { descriptor, names: ns } of byDigest.values()) {
      const subject = await loadDescriptor(layout.blobs, descriptor);
      names.push(...(await store.put(subject, ns, { signal })).names);
    }
    // writeReferrers keeps only the referrers whose subject is now in the store.
    const artifacts = await Promise.all(referrers.map((d) => loadArtifact(layout.blobs, d)));
    if (artifacts.length) await writeReferrers(store.dir, artifacts);
    return { names, unnamed };
  });
}
