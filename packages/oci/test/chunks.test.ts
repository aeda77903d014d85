/** Re-cutting a byte stream into fixed-size chunks (gzip blocks, upload chunks). */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chunksOf } from '../src/index.ts';

describe('chunksOf', () => {
  it('re-cuts a stream into exact chunks, the last one shorter', async () => {
    const parts = [Buffer.from('abc'), Buffer.from('defghij'), Buffer.from('k')];
    const out: string[] = [];
    for await (const c of chunksOf(Readable.from(parts), 4)) out.push(Buffer.from(c).toString());
    expect(out).toEqual(['abcd', 'efgh', 'ijk']);
  });

  it('gives nothing for an empty stream and one chunk for an exact fit', async () => {
    const none: Uint8Array[] = [];
    for await (const c of chunksOf(Readable.from([]), 4)) none.push(c);
    expect(none).toEqual([]);
    const exact: string[] = [];
    for await (const c of chunksOf(Readable.from([Buffer.from('abcd')]), 4))
      exact.push(Buffer.from(c).toString());
    expect(exact).toEqual(['abcd']);
  });
});
