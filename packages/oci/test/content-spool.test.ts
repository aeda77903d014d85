import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ContentSpool } from '../src/spool.ts';

describe('ContentSpool', () => {
  it('keeps every byte in order and at the offsets it reported, small pieces gathered and large ones written at once', async () => {
    const spool = await ContentSpool.create();
    try {
      const pieces = [
        Buffer.alloc(2 << 20, 'a'), // large, nothing gathered: written at once
        Buffer.alloc(10, 'b'), // gathered
        Buffer.alloc((4 << 20) - 10, 'c'), // gathered, filling the 4 MiB buffer: written
        Buffer.alloc(1 << 20, 'd'), // large again, nothing gathered: written at once
        Buffer.alloc(7, 'e'), // gathered, written on close
      ];
      const offsets: number[] = [];
      for (const p of pieces) {
        offsets.push(spool.size);
        p.fill(p[0]!); // the caller may reuse its buffer after the call
        spool.append(p);
        p.fill(0);
      }
      spool.close();
      const kept = readFileSync(spool.path);
      expect(kept.byteLength).toBe(pieces.reduce((n, p) => n + p.byteLength, 0));
      'abcde'.split('').forEach((ch, k) => {
        const at = offsets[k]!;
        const len = pieces[k]!.byteLength;
        expect(kept.subarray(at, at + len).equals(Buffer.alloc(len, ch)), ch).toBe(true);
      });
    } finally {
      await spool.remove();
    }
  });

  it('appendAsync: pieces written from the thread pool, several in flight, each at its own offset', async () => {
    const spool = await ContentSpool.create();
    try {
      const pieces = 'abcdefgh'.split('').map((ch, k) => Buffer.alloc((k + 1) * 300_001, ch));
      await Promise.all(pieces.map((p) => spool.appendAsync(p)));
      expect(spool.size).toBe(pieces.reduce((n, p) => n + p.byteLength, 0));
      spool.close();
      expect(readFileSync(spool.path).equals(Buffer.concat(pieces))).toBe(true);
      await expect(spool.appendAsync(Buffer.from('x'))).rejects.toThrow(/after close/);
    } finally {
      await spool.remove();
    }
  });

  it('appendAsync is refused after append has gathered bytes (their place is not known yet)', async () => {
    const spool = await ContentSpool.create();
    try {
      spool.append(Buffer.from('gathered'));
      await expect(spool.appendAsync(Buffer.from('x'))).rejects.toThrow(/after append/);
    } finally {
      await spool.remove();
    }
  });
});
