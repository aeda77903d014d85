/**
 * The regular files a layer adds, with their digests (sha256 from the one digest module, and sha1, which
 * SPDX requires for files), read from the layer's uncompressed tar. Whiteouts and non-files are skipped.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { Hasher } from './digest.ts';
import { type Layer, uncompressed } from './layer.ts';
import { WHITEOUT_PREFIX } from './layer-entries.ts';

export interface LayerFile {
  /** Path inside the image, without a leading `./` or `/`. */
  path: string;
  size: number;
  sha256: string;
  sha1: string;
}

export async function layerFiles(layer: Layer): Promise<LayerFile[]> {
  const extract = tar.extract();
  const input: Readable = uncompressed(layer);
  input.on('error', (e) => extract.destroy(e));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  const out: LayerFile[] = [];
  for await (const entry of extract) {
    const h = entry.header;
    const path = h.name.replace(/^(\.\/|\/)+/, '');
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (h.type !== 'file' || base.startsWith(WHITEOUT_PREFIX)) {
      entry.resume();
      continue;
    }
    const sha256 = new Hasher();
    const sha1 = createHash('sha1');
    for await (const chunk of entry as AsyncIterable<Buffer>) {
      sha256.update(chunk);
      sha1.update(chunk);
    }
    out.push({ path, size: sha256.size, sha256: sha256.digest().hex, sha1: sha1.digest('hex') });
  }
  return out;
}
