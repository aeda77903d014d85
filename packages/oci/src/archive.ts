/**
 * OCI archives (`*.oci.tar`): a deterministic tar of a layout — only the blobs reachable from
 * `index.json`, sorted, fixed mtime/ids/modes — plus a Docker `manifest.json` so older `docker load`
 * accepts it too (OCI-NOTES #8). Written to a temp file, then renamed into place.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { asAborted, throwIfAborted } from './abort.ts';
import { archiveIndex } from './archive-index.ts';
import { writeThroughTemp } from './atomic-file.ts';
import { AbortedError } from './base-error.ts';
import { verifiedStream } from './digest.ts';
import { BlobNotFoundError, SizeMismatchError } from './errors.ts';
import type { Image } from './image.ts';
import { imageForPlatform } from './image-index.ts';
import { CONTAINERD_NAME, isImageIndex, loadDescriptor, REF_NAME, readLayout } from './layout.ts';
import { withManifests } from './layout-update.ts';
import { isIndex, isManifest } from './media-types.ts';
import type { Platform } from './platform.ts';
import { attachedReferrers } from './referrers.ts';
import { sweepDeadTemps } from './temp-files.ts';
import type { Descriptor, IndexManifest, Manifest } from './types.ts';

export interface WriteArchiveOptions {
  /** Repository for Docker's `RepoTags` (`<imageName>:<tag>`); default: each entry's `io.containerd.image.name`. */
  imageName?: string;
  /** Which child of a multi-platform index goes into `manifest.json` (default linux/amd64, else the first). */
  platform?: Platform | string;
  /** mtime of every tar entry, seconds since the epoch. Default 0. */
  sourceDateEpoch?: number;
  /** Only these entries of the layout's `index.json` (and the blobs they reach); default: all of them. */
  manifests?: Descriptor[];
  /** Abort the write: the tar pipeline stops, the temp file is removed, the call rejects with `AbortedError`. */
  signal?: AbortSignal | undefined;
}

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

const blobPath = (digest: string) => `blobs/${digest.replace(':', '/')}`;

/** Every blob digest reachable from `descriptors`, in first-seen order. */
async function reachable(dir: string, descriptors: Descriptor[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const visit = async (d: Descriptor) => {
    if (out.has(d.digest)) return;
    out.set(d.digest, d.size);
    if (isIndex(d.mediaType)) {
      const idx = JSON.parse(await readFile(join(dir, blobPath(d.digest)), 'utf8')) as IndexManifest;
      for (const m of idx.manifests) await visit(m);
    } else if (isManifest(d.mediaType)) {
      const m = JSON.parse(await readFile(join(dir, blobPath(d.digest)), 'utf8')) as Manifest;
      await visit(m.config);
      for (const l of m.layers) await visit(l);
    }
  };
  for (const d of descriptors) await visit(d);
  return out;
}

async function dockerManifest(
  dir: string,
  entries: Descriptor[],
  opts: WriteArchiveOptions,
): Promise<DockerManifestEntry[]> {
  const layout = await readLayout(dir);
  const byConfig = new Map<string, DockerManifestEntry>();
  for (const d of entries) {
    if (d.artifactType) continue; // referrers (SBOMs, signatures) are not images for docker load
    const obj = await loadDescriptor(layout.blobs, d);
    let img: Image | undefined;
    if (isImageIndex(obj)) {
      img = (await imageForPlatform(obj, opts.platform ?? 'linux/amd64')) ?? (await obj.images())[0]?.image;
      if (opts.platform && !(await imageForPlatform(obj, opts.platform))) img = undefined;
    } else img = obj;
    if (!img) continue;
    const m = await img.manifest();
    const entry = byConfig.get(m.config.digest) ?? {
      Config: blobPath(m.config.digest),
      RepoTags: [],
      Layers: m.layers.map((l) => blobPath(l.digest)),
    };
    const tag = d.annotations?.[REF_NAME];
    const name = opts.imageName && tag ? `${opts.imageName}:${tag}` : d.annotations?.[CONTAINERD_NAME];
    if (name && !entry.RepoTags.includes(name)) entry.RepoTags.push(name);
    byConfig.set(m.config.digest, entry);
  }
  return [...byConfig.values()];
}

/**
 * Write the layout at `layoutDir` as an OCI archive at `file` (temp file + rename; a leftover temp of a
 * dead writer of the same file is removed first). Returns the archive's size in bytes.
 */
export async function writeArchive(
  layoutDir: string,
  file: string,
  opts: WriteArchiveOptions = {},
): Promise<number> {
  const what = `writing the archive ${file}`;
  throwIfAborted(opts.signal, what);
  await sweepDeadTemps(dirname(file), undefined, `-${basename(file)}`);
  try {
    return await writeThroughTemp(file, async (tmp) => {
      const out = createWriteStream(tmp, { flags: 'wx' });
      try {
        await writeArchiveTo(layoutDir, out, opts);
      } catch (err) {
        // A file open still in the thread pool would create the temp after it is removed: let it close first.
        if (!out.closed) {
          out.destroy();
          await finished(out).catch(() => {});
        }
        throw err;
      }
      throwIfAborted(opts.signal, what);
      return (await stat(tmp)).size;
    });
  } catch (err) {
    throw asAborted(err, opts.signal, what);
  }
}

/** Stream the layout at `layoutDir` as an OCI archive into `out` (e.g. standard output); ends `out`. */
export async function writeArchiveTo(
  layoutDir: string,
  out: NodeJS.WritableStream,
  opts: WriteArchiveOptions = {},
): Promise<void> {
  const { signal } = opts;
  const what = `writing an archive of ${layoutDir}`;
  throwIfAborted(signal, what);
  const layout = await readLayout(layoutDir);
  const index = await layout.index();
  // A subset takes along the SBOMs, provenance and signatures of what it holds.
  const entries = opts.manifests
    ? [
        ...opts.manifests,
        ...(await attachedReferrers(
          layout.blobs,
          index,
          new Set((await reachable(layoutDir, opts.manifests)).keys()),
        )),
      ]
    : index.manifests;
  // One index.json entry per image (containers/image wants exactly one); the rest in the full-index blob.
  const { indexJson, full } = archiveIndex(withManifests(index, entries).manifests, opts.imageName);
  const byDigest = new Map<string, number | Buffer>(await reachable(layoutDir, entries));
  if (full) byDigest.set(full.digest, full.bytes);
  const blobs = [...byDigest.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const manifestJson = Buffer.from(JSON.stringify(await dockerManifest(layoutDir, entries, opts)));
  const mtime = new Date((opts.sourceDateEpoch ?? 0) * 1000);
  const common = { uid: 0, gid: 0, uname: '', gname: '', mtime };
  const pack = tar.pack();
  const add = (name: string, body?: Buffer) =>
    new Promise<void>((res, rej) => {
      const cb = (e?: Error | null) => (e ? rej(e) : res());
      const sink = body
        ? pack.entry({ ...common, name, type: 'file', mode: 0o644, size: body.byteLength }, body, cb)
        : pack.entry({ ...common, name, type: 'directory', mode: 0o755 }, cb);
      // Destroyed with the pack (an abort): the error comes through `cb`, not as an unheard 'error'.
      sink.on('error', () => {});
    });
  const addFile = async (name: string, path: string, size: number, digest: string) => {
    const actual = (await stat(path).catch(() => undefined))?.size;
    if (actual === undefined) throw new BlobNotFoundError(layoutDir, digest);
    if (actual !== size) throw new SizeMismatchError(`blob ${digest} in ${layoutDir}`, size, actual);
    // Every byte is checked against the digest as it goes into the archive: a changed blob fails the save.
    const blobWhat = `blob ${digest} in ${layoutDir}`;
    await new Promise<void>((res, rej) => {
      const sink = pack.entry({ ...common, name, type: 'file', mode: 0o644, size }, (e) =>
        e ? rej(e) : res(),
      ) as unknown as NodeJS.WritableStream;
      // The entry is destroyed with the pack (an abort): its error ends this file, it must not go unheard.
      sink.on('error', rej);
      (async () => {
        for await (const chunk of verifiedStream(
          createReadStream(path, { signal }),
          digest,
          size,
          blobWhat,
        )) {
          if (!sink.write(chunk)) await new Promise((r) => sink.once('drain', r));
        }
        sink.end();
      })().catch(rej);
    });
  };
  const feed = (async () => {
    try {
      await add('blobs/');
      await add('blobs/sha256/');
      for (const [digest, blob] of blobs) {
        throwIfAborted(signal, what);
        if (typeof blob !== 'number') await add(blobPath(digest), blob);
        else await addFile(blobPath(digest), join(layoutDir, blobPath(digest)), blob, digest);
      }
      await add('index.json', indexJson);
      await add('manifest.json', manifestJson);
      await add('oci-layout', await readFile(join(layoutDir, 'oci-layout')));
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
      throw err;
    }
  })();
  // An abort destroys the tar stream; the pipeline then ends `out` with the error.
  const onAbort = () => pack.destroy(new AbortedError(what, { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all([feed, pipeline(Readable.from(pack as AsyncIterable<Buffer>), out)]);
  } catch (err) {
    throw asAborted(err, signal, what);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
