import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { layerFromEntries, parallelGzip } from '../src/index.ts';
import { collect, layerBytes } from './helpers.ts';

/** Deterministic, partly compressible test bytes. */
function bytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; i++) {
    const block = createHash('sha256').update(String(i)).digest();
    const text = Buffer.from(`line ${i % 97} of some text\n`);
    off += (i % 3 === 0 ? block : text).copy(out, off);
  }
  return out;
}

async function* pieces(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let off = 0; off < b.length; off += size) yield b.subarray(off, off + size);
}

/** How many times a gzip header (1f 8b 08) appears: at least the member count (compressed data may hold one too). */
function members(gz: Buffer): number {
  let n = 0;
  for (let i = 0; i + 3 <= gz.length; i++) if (gz[i] === 0x1f && gz[i + 1] === 0x8b && gz[i + 2] === 8) n++;
  return n;
}

describe('parallelGzip', () => {
  it('gives a multi-member gzip that decompresses to the input, one member per block', async () => {
    const input = bytes(300 * 1024);
    const gz = await collect(parallelGzip(pieces(input, 7000), { level: 6, blockSize: 64 * 1024 }));
    expect(gunzipSync(gz).equals(input)).toBe(true);
    expect(members(gz)).toBeGreaterThanOrEqual(5);
    // Every member header: MTIME 0, OS Unix.
    expect([...gz.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    expect(gz[9]).toBe(3);
  });

  it('is deterministic: the same bytes whatever the concurrency and the input chunking', async () => {
    const input = bytes(500 * 1024);
    const one = await collect(
      parallelGzip(pieces(input, 65536), { level: 6, blockSize: 64 * 1024, concurrency: 1 }),
    );
    const many = await collect(
      parallelGzip(pieces(input, 1234), { level: 6, blockSize: 64 * 1024, concurrency: 8 }),
    );
    expect(one.equals(many)).toBe(true);
  });

  it('gives a valid empty gzip for empty input, and refuses tiny blocks', async () => {
    const gz = await collect(parallelGzip(pieces(Buffer.alloc(0), 1), { level: 6 }));
    expect(gunzipSync(gz).length).toBe(0);
    await expect(
      collect(parallelGzip(pieces(Buffer.alloc(1), 1), { level: 6, blockSize: 100 })),
    ).rejects.toThrow(RangeError);
  });
});

describe('layerFromEntries with parallelGzip', () => {
  const entries = [
    { type: 'file' as const, path: 'big/a.bin', content: bytes(700 * 1024) },
    { type: 'file' as const, path: 'big/b.txt', content: bytes(200 * 1024).toString('latin1') },
    { type: 'dir' as const, path: 'empty' },
  ];

  it('has the same tar (diff_id) as the default layer, other gzip bytes, and digests that match them', async () => {
    const plain = layerFromEntries(entries, { compressionLevel: 6 });
    const parallel = layerFromEntries(entries, {
      compressionLevel: 6,
      parallelGzip: { blockSize: 256 * 1024 },
    });
    expect((await parallel.diffId()).toString()).toBe((await plain.diffId()).toString());
    expect((await parallel.digest()).toString()).not.toBe((await plain.digest()).toString());
    const { gz, tar } = await layerBytes(parallel);
    expect(createHash('sha256').update(gz).digest('hex')).toBe((await parallel.digest()).hex);
    expect(gz.length).toBe(await parallel.size());
    expect(tar.length).toBe(await parallel.uncompressedSize());
    expect(members(gz)).toBeGreaterThan(1);
  });

  it('gives the same digest on every build, with one thread or many', async () => {
    const a = layerFromEntries(entries, { parallelGzip: { concurrency: 1 } });
    const b = layerFromEntries(entries, { parallelGzip: true });
    expect((await a.digest()).toString()).toBe((await b.digest()).toString());
  });
});
