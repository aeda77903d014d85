/**
 * A few small files of an image's root filesystem as its layers make it (base first, whiteouts and opaque
 * directories applied), read from the layers' tars without unpacking anything: what an SBOM needs from a
 * rootfs (package databases, `etc/os-release`). Symlinks and entries other than regular files are skipped.
 */
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { throwIfAborted } from './abort.ts';
import { type Layer, uncompressed } from './layer.ts';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './layer-entries.ts';

export interface RootfsFilesOptions {
  /** Files larger than this are skipped (default 64 MiB). */
  maxBytes?: number;
  signal?: AbortSignal | undefined;
}

async function readLayer(
  layer: Layer,
  want: (path: string) => boolean,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<{ files: Map<string, Buffer>; removed: string[]; opaque: string[] }> {
  const extract = tar.extract();
  const input: Readable = uncompressed(layer);
  input.on('error', (e) => extract.destroy(e));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  const files = new Map<string, Buffer>();
  const removed: string[] = [];
  const opaque: string[] = [];
  for await (const entry of extract) {
    throwIfAborted(signal, 'reading files of a layer');
    const path = entry.header.name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
    const slash = path.lastIndexOf('/');
    const dir = slash < 0 ? '' : path.slice(0, slash + 1);
    const base = path.slice(slash + 1);
    if (base === OPAQUE_MARKER) opaque.push(dir);
    else if (base.startsWith(WHITEOUT_PREFIX)) removed.push(dir + base.slice(WHITEOUT_PREFIX.length));
    else if (entry.header.type === 'file' && (entry.header.size ?? 0) <= maxBytes && want(path)) {
      const chunks: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
      files.set(path, Buffer.concat(chunks));
      continue;
    }
    entry.resume();
  }
  return { files, removed, opaque };
}

/** The files `want` selects (by path without a leading `./`), as the image's root filesystem has them. */
export async function readRootfsFiles(
  layers: Layer[],
  want: (path: string) => boolean,
  opts: RootfsFilesOptions = {},
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const layer of layers) {
    const { files, removed, opaque } = await readLayer(
      layer,
      want,
      opts.maxBytes ?? 64 * 1024 * 1024,
      opts.signal,
    );
    const gone = (p: string) =>
      removed.some((r) => p === r || p.startsWith(`${r}/`)) || opaque.some((d) => p.startsWith(d));
    for (const p of [...out.keys()]) if (gone(p)) out.delete(p);
    for (const [p, b] of files) out.set(p, b);
  }
  return out;
}
