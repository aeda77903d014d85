/**
 * The regular files a layer adds, with their digests (sha256 and sha1, which SPDX requires for files). A layer
 * packed with `fileDigests` (tar-layer.ts) hashed each body as it was written into the tar and answers from
 * that; any other layer is read back from its uncompressed tar. Whiteouts and non-files are skipped.
 */
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { type FileDigests, FileHasher } from './digest.ts';
import { type Layer, uncompressed } from './layer.ts';
import { WHITEOUT_PREFIX } from './layer-entries.ts';

export interface LayerFile extends FileDigests {
  /** Path inside the image, without a leading `./` or `/`. */
  path: string;
}

/** Whether a tar entry is a file the layer adds (a regular file that is not a whiteout), by its clean path. */
export function isAddedFile(type: string, path: string): boolean {
  return type === 'file' && !path.slice(path.lastIndexOf('/') + 1).startsWith(WHITEOUT_PREFIX);
}

/** The files `layer` adds, in tar order: hashed while packed when it was, else read back from the layer. */
export function layerFiles(layer: Layer): Promise<LayerFile[]> {
  return layer.files ? layer.files() : readLayerFiles(layer);
}

/** The files `layer` adds, read back from its uncompressed tar and hashed. */
export async function readLayerFiles(layer: Layer): Promise<LayerFile[]> {
  const extract = tar.extract();
  const input: Readable = uncompressed(layer);
  input.on('error', (e) => extract.destroy(e));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  const out: LayerFile[] = [];
  for await (const entry of extract) {
    const h = entry.header;
    const path = h.name.replace(/^(\.\/|\/)+/, '');
    if (!isAddedFile(h.type ?? '', path)) {
      entry.resume();
      continue;
    }
    const hasher = new FileHasher();
    for await (const chunk of entry as AsyncIterable<Buffer>) hasher.update(chunk);
    out.push({ path, ...hasher.digest() });
  }
  return out;
}
