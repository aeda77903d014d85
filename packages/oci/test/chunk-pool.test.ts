import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChunkPool, keepTarLayer, sha256 } from '../src/index.ts';
import { bytes, layerBytes, makeTar } from './helpers.ts';

describe('ChunkPool', () => {
  it('hands a buffer out again only once it is given back, whole or as a view', () => {
    const pool = new ChunkPool(4096, 2);
    const a = pool.take();
    const b = pool.take();
    expect(a.byteLength).toBe(4096);
    expect(a.buffer).not.toBe(b.buffer);
    pool.give(a.subarray(10, 20));
    expect(pool.take().buffer).toBe(a.buffer);
    expect(pool.created).toBe(2);
    // Foreign memory and a second give are ignored: neither may come back out of take().
    const foreign = Buffer.allocUnsafeSlow(4096);
    pool.give(foreign);
    pool.give(b);
    pool.give(b);
    const next = [pool.take(), pool.take()];
    expect(next.map((x) => x.buffer)).toContain(b.buffer);
    expect(next.map((x) => x.buffer)).not.toContain(foreign.buffer);
    expect(next[0]!.buffer).not.toBe(next[1]!.buffer);
    expect(() => new ChunkPool(0)).toThrow(RangeError);
  });

  it('keepTarLayer gives each chunk back only when it is done with it: same layer, memory reused', async () => {
    // Entries that straddle chunks: a long name (held by the checker across chunks), a kept file, bodies.
    const long = `${'d'.repeat(150)}/${'f'.repeat(150)}`;
    const input = await makeTar([
      { header: { name: './', type: 'directory' } },
      { header: { name: long, type: 'file' }, body: bytes(70_000).toString('latin1') },
      { header: { name: './var/lib/dpkg/status', type: 'file' }, body: 'Package: a\n'.repeat(2000) },
      { header: { name: './big', type: 'file' }, body: bytes(900_000).toString('latin1') },
    ]);
    const chunkBytes = 4096;
    const pool = new ChunkPool(chunkBytes);
    let chunks = 0;
    // Read as the CLI reads a file: into the pool's memory, poisoned first so a chunk read into too early shows.
    const reader = Readable.from(
      (async function* () {
        for (let at = 0; at < input.byteLength; at += chunkBytes) {
          const chunk = pool.take().fill(0xaa);
          const n = input.copy(chunk, 0, at, at + chunkBytes);
          chunks++;
          yield chunk.subarray(0, n);
        }
      })(),
      { objectMode: false },
    );
    const want = (p: string) => p === 'var/lib/dpkg/status';
    // Given back, a buffer may be read into at once: overwrite it now, so a chunk still in use shows.
    const recycle = (chunk: Buffer) => {
      new Uint8Array(chunk.buffer).fill(0x55);
      pool.give(chunk);
    };
    const kept = await keepTarLayer(reader, { recycle, keepFiles: want, requireEndMarker: true });
    const plain = await keepTarLayer(Readable.from([input]), { keepFiles: want });
    expect((await kept.layer.diffId()).toString()).toBe(sha256(input).toString());
    expect((await layerBytes(kept.layer)).tar.equals(input)).toBe(true);
    expect((await kept.layer.digest()).toString()).toBe((await plain.layer.digest()).toString());
    expect(kept.files.get('var/lib/dpkg/status')?.toString()).toBe('Package: a\n'.repeat(2000));
    expect(kept.entries).toBe(3);
    // The memory was reused: a few buffers (the streams' read-ahead) for hundreds of chunks.
    expect(chunks).toBeGreaterThan(200);
    expect(pool.created).toBeLessThan(16);
  });
});
