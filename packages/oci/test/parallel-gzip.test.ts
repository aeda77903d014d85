import { createCipheriv, createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { constants, crc32, deflateRawSync, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GZIP_BLOCK_SIZE, layerFromEntries, parallelGzip } from '../src/index.ts';
import { bytes, collect, layerBytes } from './helpers.ts';

async function* pieces(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let off = 0; off < b.length; off += size) yield b.subarray(off, off + size);
}

const gz = (input: Buffer, chunk: number, options: Parameters<typeof parallelGzip>[1] = {}) =>
  collect(parallelGzip(pieces(input, chunk), options));

describe('parallelGzip (pigz-style: one member, 512 KiB blocks primed with the previous 32 KiB)', () => {
  it('is one gzip member: header, one deflate stream, CRC-32 and length of the input', async () => {
    const input = bytes(5 * GZIP_BLOCK_SIZE + 1234);
    const out = await gz(input, 7000, { level: 6 });
    expect(gunzipSync(out).equals(input)).toBe(true);
    expect([...out.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    // The deflate data between header and trailer is ONE raw stream that ends exactly before the trailer.
    const raw = out.subarray(10, out.length - 8);
    const inflated = inflateRawSync(raw, { info: true } as never) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    expect(inflated.buffer.equals(input)).toBe(true);
    expect(inflated.engine.bytesWritten).toBe(raw.length);
    expect(out.readUInt32LE(out.length - 8)).toBe(crc32(input));
    expect(out.readUInt32LE(out.length - 4)).toBe(input.length);
    // Blocks but the last end with a sync flush (00 00 ff ff); there are at least as many as blocks - 1.
    let syncs = 0;
    for (let i = raw.indexOf('0000ffff', 0, 'hex'); i >= 0; i = raw.indexOf('0000ffff', i + 1, 'hex'))
      syncs++;
    expect(syncs).toBeGreaterThanOrEqual(5);
  });

  it('keeps the CRC across empty pieces, even views on a zero-length ArrayBuffer (an empty file, tar padding)', async () => {
    // Node's crc32 of such a view is 0 whatever the running value: counted, it would zero the trailer's CRC.
    expect(crc32(new Uint8Array(new ArrayBuffer(0)), 5)).toBe(0);
    const input = bytes(GZIP_BLOCK_SIZE + 777);
    const empty = () => Buffer.from(new ArrayBuffer(0));
    const out = await collect(
      parallelGzip(
        (async function* () {
          yield empty();
          yield input.subarray(0, 1000);
          yield empty();
          yield input.subarray(1000);
          yield empty();
        })(),
      ),
    );
    expect(gunzipSync(out).equals(input)).toBe(true);
    expect(out.readUInt32LE(out.length - 8)).toBe(crc32(input));
  });

  it('is deterministic: the same bytes whatever the concurrency and the input chunking', async () => {
    const input = bytes(9 * GZIP_BLOCK_SIZE + 99);
    const one = await gz(input, 65536, { level: 6, concurrency: 1 });
    const many = await gz(input, 1234, { level: 6, concurrency: 8 });
    const whole = await gz(input, input.length, { level: 6 });
    expect(one.equals(many)).toBe(true);
    expect(one.equals(whole)).toBe(true);
    // Block buffers are reused: a dictionary overwritten too early would still give a stream, of other bytes.
    expect(gunzipSync(many).equals(input)).toBe(true);
  });

  it("gives the format's bytes: each block as zlib deflates it with its default 16 KiB output buffer", async () => {
    // The format: block i is raw deflate of input[i], primed with the 32 KiB before it, ending in a sync flush
    // (the last: finished), each with zlib's default output buffer. Where a sync flush ends right at the end of
    // a 16 KiB buffer, zlib writes one more empty stored block; ours uses a large buffer and must match anyway.
    const random = Buffer.concat(
      Array.from({ length: 8192 }, (_, i) => createHash('sha256').update(`r${i}`).digest()),
    );
    const blockOf = (n: number) =>
      Buffer.concat([random.subarray(0, n), Buffer.alloc(GZIP_BLOCK_SIZE - n, 'a')]);
    const format = (input: Buffer) => {
      const parts: Buffer[] = [];
      for (let off = 0; off < input.length; off += GZIP_BLOCK_SIZE) {
        const last = off + GZIP_BLOCK_SIZE >= input.length;
        parts.push(
          deflateRawSync(input.subarray(off, off + GZIP_BLOCK_SIZE), {
            level: 6,
            ...(off > 0 ? { dictionary: input.subarray(off - 32 * 1024, off) } : {}),
            finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
          }),
        );
      }
      return Buffer.concat(parts);
    };
    // First blocks whose output (Node 20's zlib) ends a few bytes past 4 × 16 KiB: some get the extra empty block.
    const sync = (b: Buffer, chunkSize?: number) =>
      deflateRawSync(b, {
        level: 6,
        finishFlush: constants.Z_SYNC_FLUSH,
        ...(chunkSize ? { chunkSize } : {}),
      });
    let extras = 0;
    for (let n = 64380; n <= 64396; n++) {
      const block = blockOf(n);
      if (!sync(block).equals(sync(block, 256 * 1024))) extras++;
      const input = Buffer.concat([block, bytes(GZIP_BLOCK_SIZE + 999)]);
      const expected = format(input);
      for (const concurrency of [1, 4]) {
        const out = await gz(input, 65536, { level: 6, concurrency });
        expect(out.subarray(10, out.length - 8).equals(expected)).toBe(true);
      }
    }
    // Incompressible blocks (stored: their output is a little larger than their input) come back whole too.
    const stored = Buffer.concat([random, random.subarray(0, 999)]);
    for (const concurrency of [1, 4]) {
      const out = await gz(stored, 65536, { level: 6, concurrency });
      expect(out.subarray(10, out.length - 8).equals(format(stored))).toBe(true);
    }
    // The case is really met (zlib's extra block), not only blocks that never reach a buffer's end; if another
    // zlib moves it, look for the sizes again (scan n for outputs 0–5 bytes past a multiple of 16 KiB).
    expect(extras).toBeGreaterThan(0);
  });

  it('primes each block with the previous 32 KiB: about the size of one stream, far below independent blocks', async () => {
    // 128 KiB of random bytes repeated: a match for every later block lies in the block before it.
    const unit = createHash('sha256').update('x').digest();
    const random = Buffer.concat(
      Array.from({ length: 1024 }, (_, i) => createHash('sha256').update(unit).update(String(i)).digest()),
    );
    const input = Buffer.concat(Array.from({ length: 8 }, () => random.subarray(0, 16 * 1024)));
    const ours = await gz(Buffer.concat([input, input]), 4096, { level: 6 });
    const single = gzipSync(Buffer.concat([input, input]), { level: 6 });
    expect(ours.length).toBeLessThan(single.length * 1.01 + 64);
    expect(ours.length).toBeLessThan(20 * 1024);
  });

  it('writes the level into the data and XFL, and refuses a level outside 0–9', async () => {
    const input = bytes(3 * GZIP_BLOCK_SIZE);
    const l1 = await gz(input, 50000, { level: 1 });
    const l9 = await gz(input, 50000, { level: 9 });
    expect(l1[8]).toBe(4);
    expect(l9[8]).toBe(2);
    expect(l9.length).toBeLessThan(l1.length);
    for (const g of [l1, l9, await gz(input, 50000, { level: 0 })])
      expect(gunzipSync(g).equals(input)).toBe(true);
    await expect(gz(input, 50000, { level: 10 })).rejects.toThrow(
      /gzip level must be an integer from 0 to 9, got 10/,
    );
  });

  it('gives the same 20 bytes as gzip -n for empty input (OS Unix)', async () => {
    const out = await gz(Buffer.alloc(0), 1);
    const want = gzipSync(Buffer.alloc(0), { level: 6, finishFlush: constants.Z_FINISH });
    want[9] = 3;
    expect(out.equals(want)).toBe(true);
  });
});

describe('parallelGzip output buffers', () => {
  /** Incompressible bytes (AES-CTR of zeros: the same every run): each block's output is about as large as its input. */
  const noise = (n: number) =>
    createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16)).update(Buffer.alloc(n));

  it("are reused: a piece is valid until the next is asked for, then takes another block's output", async () => {
    const input = noise(24 * GZIP_BLOCK_SIZE);
    const held: Buffer[] = [];
    const copies: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    for await (const piece of parallelGzip(pieces(input, 65536), { level: 6, concurrency: 2 })) {
      held.push(piece);
      copies.push(Buffer.from(piece));
      memory.add(piece.buffer);
    }
    // Copies made in time are the stream; the pieces held past their turn were written over by later blocks.
    expect(gunzipSync(Buffer.concat(copies)).equals(input)).toBe(true);
    expect(Buffer.concat(held).equals(Buffer.concat(copies))).toBe(false);
    expect(memory.size).toBeLessThan(held.length / 2);
  });

  it('holds no block it has handed on (one block at a time in this thread too)', async () => {
    // gc() for this test: V8 can expose it at run time; a new context hands it out.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (const concurrency of [1, 4]) {
      const seen: WeakRef<ArrayBufferLike>[] = [];
      let alive = -1;
      for await (const piece of parallelGzip(pieces(noise(80 * GZIP_BLOCK_SIZE), 65536), { concurrency })) {
        seen.push(new WeakRef(piece.buffer));
        if (seen.length === 70) {
          // A WeakRef keeps its target until the current job ends: end it first.
          await new Promise((resolve) => setImmediate(resolve));
          gc();
          alive = new Set(seen.slice(0, 60).map((r) => r.deref())).size - 1; // less the `undefined`
        }
      }
      // Distinct buffers still reachable: the pool's few (output buffers in use again), not one per block.
      expect(alive, `concurrency ${concurrency}`).toBeGreaterThanOrEqual(0);
      expect(alive, `concurrency ${concurrency}`).toBeLessThan(12);
    }
  });

  it('a layer held in memory (under the spool threshold) keeps its own copy of every piece', async () => {
    // Pieces of incompressible blocks are most of their output buffer: kept as they were, they would change.
    const layer = layerFromEntries([
      { type: 'file', path: 'noise.bin', content: noise(7 * GZIP_BLOCK_SIZE) },
    ]);
    const { gz: blob, tar } = await layerBytes(layer);
    expect(blob.length).toBeLessThan(4 * 1024 * 1024);
    expect(gunzipSync(blob).equals(tar)).toBe(true);
    expect(createHash('sha256').update(blob).digest('hex')).toBe((await layer.digest()).hex);
  });
});

describe('layerFromEntries gzip', () => {
  const entries = [
    { type: 'file' as const, path: 'big/a.bin', content: bytes(700 * 1024) },
    { type: 'file' as const, path: 'big/b.txt', content: bytes(200 * 1024).toString('latin1') },
    { type: 'dir' as const, path: 'empty' },
  ];

  it('is one member of the tar (diff_id), with digest and sizes that match the bytes', async () => {
    const layer = layerFromEntries(entries, { compressionLevel: 6 });
    const { gz: blob, tar } = await layerBytes(layer);
    expect(gunzipSync(blob).equals(tar)).toBe(true);
    expect(createHash('sha256').update(blob).digest('hex')).toBe((await layer.digest()).hex);
    expect(createHash('sha256').update(tar).digest('hex')).toBe((await layer.diffId()).hex);
    expect(blob.length).toBe(await layer.size());
    expect(tar.length).toBe(await layer.uncompressedSize());
    expect(blob.readUInt32LE(blob.length - 8)).toBe(crc32(tar));
  });

  it('gives the same digest with one gzip thread or many; the level changes it', async () => {
    const one = layerFromEntries(entries, { gzipConcurrency: 1 });
    const many = layerFromEntries(entries, { gzipConcurrency: 16 });
    const level9 = layerFromEntries(entries, { compressionLevel: 9 });
    expect((await one.digest()).toString()).toBe((await many.digest()).toString());
    expect((await one.diffId()).toString()).toBe((await level9.diffId()).toString());
    expect((await one.digest()).toString()).not.toBe((await level9.digest()).toString());
    await expect(layerFromEntries(entries, { compressionLevel: 11 }).digest()).rejects.toThrow(RangeError);
  });
});
