import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { Layer } from '../src/index.ts';

/** Every chunk of `s`, joined. Each is copied as it comes: a chunk may be valid only until the next (parallelGzip). */
export async function collect(s: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

export interface ListedEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string | null;
  pax: unknown;
  body: string;
}

/** Parse a tar (bytes) into its headers and bodies. */
export async function listTar(bytes: Buffer): Promise<ListedEntry[]> {
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract as unknown as NodeJS.WritableStream);
  const out: ListedEntry[] = [];
  for await (const entry of extract) {
    const h = entry.header;
    const body = await collect(entry as AsyncIterable<Buffer>);
    out.push({
      name: h.name,
      type: h.type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      mtime: h.mtime.getTime() / 1000,
      linkname: h.linkname,
      pax: h.pax,
      body: body.toString('utf8'),
    });
  }
  return out;
}

export async function layerBytes(layer: Layer): Promise<{ gz: Buffer; tar: Buffer }> {
  const gz = await collect(layer.compressed());
  return { gz, tar: gunzipSync(gz) };
}

/** A tar built by hand with tar-stream, for import tests (not normalised). */
export async function makeTar(
  entries: { header: tar.Header | (Partial<tar.Header> & { name: string }); body?: string }[],
): Promise<Buffer> {
  const pack = tar.pack();
  const done = collect(pack as AsyncIterable<Buffer>);
  for (const e of entries) {
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null) => (err ? rej(err) : res());
      if (e.body !== undefined) pack.entry({ mtime: new Date(1234567890000), ...e.header }, e.body, cb);
      else pack.entry({ mtime: new Date(1234567890000), ...e.header }, cb);
    });
  }
  pack.finalize();
  return done;
}

/** Deterministic, partly compressible test bytes (repeats far apart, so dictionaries matter). */
export function bytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; i++) {
    const block = createHash('sha256')
      .update(String(i % 5000))
      .digest();
    const text = Buffer.from(`line ${i % 97} of some text\n`);
    off += (i % 3 === 0 ? block : text).copy(out, off);
  }
  return out;
}
