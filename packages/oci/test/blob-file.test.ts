import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkedFileChunks, sha256 } from '../src/index.ts';

describe('checkedFileChunks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scratchpack-blob-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function blobFile(bytes: Buffer): Promise<string> {
    const path = join(dir, sha256(bytes).hex);
    await writeFile(path, bytes);
    return path;
  }

  it('gives the blob in chunks, reading chunk n into the buffer of chunk n - ring', async () => {
    const bytes = randomBytes(10 * 1000 + 7);
    const path = await blobFile(bytes);
    const copies: Buffer[] = [];
    const buffers: ArrayBufferLike[] = [];
    for await (const chunk of checkedFileChunks(path, sha256(bytes), bytes.length, 'blob', {
      chunkBytes: 1000,
      ring: 3,
    })) {
      copies.push(Buffer.from(chunk));
      buffers.push(chunk.buffer);
    }
    expect(Buffer.concat(copies).equals(bytes)).toBe(true);
    expect(copies.map((c) => c.length)).toEqual([...Array(10).fill(1000), 7]);
    expect(new Set(buffers).size).toBe(3);
    expect(buffers[3]).toBe(buffers[0]);
  });

  it('fails on a file of another size before the first chunk', async () => {
    const bytes = randomBytes(3000);
    const path = await blobFile(bytes);
    const got: Buffer[] = [];
    const read = async () => {
      for await (const c of checkedFileChunks(path, sha256(bytes), 3001, 'blob x', { chunkBytes: 1000 }))
        got.push(c);
    };
    await expect(read()).rejects.toMatchObject({ code: 'OCI_SIZE_MISMATCH' });
    expect(got).toHaveLength(0);
  });

  it('fails instead of the last chunk when the bytes are not the blob', async () => {
    const bytes = randomBytes(3500);
    const path = await blobFile(bytes);
    const other = sha256(Buffer.from('something else'));
    const got: number[] = [];
    const read = async () => {
      for await (const c of checkedFileChunks(path, other, bytes.length, 'blob y', { chunkBytes: 1000 }))
        got.push(c.length);
    };
    await expect(read()).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
    expect(got).toEqual([1000, 1000, 1000]);
  });

  it('an empty blob is checked too', async () => {
    const empty = Buffer.alloc(0);
    const path = await blobFile(empty);
    const chunks = [];
    for await (const c of checkedFileChunks(path, sha256(empty), 0, 'empty')) chunks.push(c);
    expect(chunks).toHaveLength(0);
    const wrong = async () => {
      for await (const _ of checkedFileChunks(path, sha256(Buffer.from('x')), 0, 'empty')) {
      }
    };
    await expect(wrong()).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
  });
});
