/**
 * Layers: accessor-only and immutable (like go-containerregistry's v1.Layer). Every accessor may fail;
 * `compressed()` returns a fresh stream of the exact stored bytes on every call — the bytes whose
 * digest and size the accessors report. Nothing is ever recompressed (OCI-NOTES #13).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Digest } from './digest.ts';
import type { LayerFile } from './layer-files.ts';
import { isUncompressedLayer } from './media-types.ts';

export interface Layer {
  /** sha256 of the compressed blob (the manifest's `layers[].digest`). */
  digest(): Promise<Digest>;
  /** sha256 of the uncompressed tar (the config's `rootfs.diff_ids[]`). */
  diffId(): Promise<Digest>;
  /** Size in bytes of the compressed blob. */
  size(): Promise<number>;
  /** Size in bytes of the uncompressed tar. */
  uncompressedSize(): Promise<number>;
  mediaType(): string;
  /** A fresh stream of the exact stored (compressed) bytes, each call. */
  compressed(): Readable;
  /**
   * The regular files it adds with their digests, when they were hashed as it was packed (`layerFromEntries`
   * with `fileDigests`); use `layerFiles(layer)`, which reads the layer back when this is absent.
   */
  files?(): Promise<LayerFile[]>;
  /**
   * The path of a file this process wrote holding exactly the compressed bytes, hashed as they were written
   * (a built layer's spool), if there is one: a blob writer copies it (in the kernel) instead of streaming it.
   */
  compressedFile?(): string | undefined;
  /**
   * The path of the stored blob `compressed()` reads (a layout's `blobs/sha256/<hex>`), NOT checked: a reader
   * that uses it checks the bytes against `digest()` and `size()` itself (`checkedFileChunks`), as `compressed()`
   * does.
   */
  storedFile?(): string;
}

/** Describes a blob that already exists somewhere, with its digests known. */
export interface BlobLayerInfo {
  digest: Digest | string;
  diffId: Digest | string;
  size: number;
  mediaType: string;
  /** Size of the uncompressed tar, if known; otherwise computed by decompressing once on demand. */
  uncompressedSize?: number;
}

/**
 * A layer whose bytes come from `open()` (a file, a registry, …) and whose digests are already known.
 * The digests are trusted here; `validateImage` recomputes them.
 */
export function layerFromBlob(info: BlobLayerInfo, open: () => Readable): Layer {
  const digest = typeof info.digest === 'string' ? Digest.parse(info.digest) : info.digest;
  const diffId = typeof info.diffId === 'string' ? Digest.parse(info.diffId) : info.diffId;
  let usize: Promise<number> | undefined;
  return {
    digest: async () => digest,
    diffId: async () => diffId,
    size: async () => info.size,
    uncompressedSize: () => {
      if (info.uncompressedSize !== undefined) return Promise.resolve(info.uncompressedSize);
      usize ??= countBytes(isUncompressedLayer(info.mediaType) ? open() : gunzipped(open()));
      return usize;
    },
    mediaType: () => info.mediaType,
    compressed: open,
  };
}

/** A layer whose compressed blob is a file on disk (e.g. `blobs/sha256/<hex>` of a layout). */
export function layerFromCompressedFile(path: string, info: BlobLayerInfo): Layer {
  return layerFromBlob(info, () => createReadStream(path));
}

/** A layer whose compressed blob is already in memory. */
export function layerFromCompressedBuffer(bytes: Buffer, info: Omit<BlobLayerInfo, 'size'>): Layer {
  return layerFromBlob({ ...info, size: bytes.byteLength }, () => Readable.from([bytes]));
}

/** The same layer bytes under another media type (used by family conversion; gzip stays gzip). */
export function withLayerMediaType(layer: Layer, mediaType: string): Layer {
  if (layer.mediaType() === mediaType) return layer;
  return {
    digest: () => layer.digest(),
    diffId: () => layer.diffId(),
    size: () => layer.size(),
    uncompressedSize: () => layer.uncompressedSize(),
    mediaType: () => mediaType,
    compressed: () => layer.compressed(),
    ...(layer.files ? { files: () => layer.files!() } : {}),
    compressedFile: () => layer.compressedFile?.(),
    ...(layer.storedFile ? { storedFile: () => layer.storedFile!() } : {}),
  };
}

/** `s` through gunzip, with an error of `s` (a blob that is not what its digest says) passed on, not lost. */
function gunzipped(s: Readable): Readable {
  const gz = createGunzip();
  s.on('error', (e) => gz.destroy(e));
  gz.on('close', () => {
    if (!s.destroyed) s.destroy();
  });
  return s.pipe(gz);
}

/** A stream of the layer's uncompressed tar. */
export function uncompressed(layer: Layer): Readable {
  const s = layer.compressed();
  return isUncompressedLayer(layer.mediaType()) ? s : gunzipped(s);
}

async function countBytes(s: Readable): Promise<number> {
  let n = 0;
  for await (const c of s) n += (c as Buffer).byteLength;
  return n;
}
