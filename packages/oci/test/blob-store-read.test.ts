import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { describe, expect, it } from 'vitest';
import { BlobStore, sha256 } from '../src/index.ts';

describe('BlobStore.read', () => {
  const put = async (store: BlobStore, bytes: Buffer) => {
    const digest = sha256(bytes).toString();
    await mkdir(dirname(store.path(digest)), { recursive: true });
    await writeFile(store.path(digest), bytes);
    return digest;
  };

  it('gives every byte of a blob, small (read at once) or large (read in the pool), and refuses a missing or odd one', async () => {
    const dir = await tempDir('blob-read');
    const store = new BlobStore(dir.path);
    try {
      for (const size of [0, 1, 4096, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 + 7]) {
        const bytes = Buffer.alloc(size);
        for (let i = 0; i < size; i++) bytes[i] = (i * 31 + size) & 0xff;
        const digest = await put(store, bytes);
        const read = await store.read(digest);
        expect(read.byteLength).toBe(size);
        expect(read.equals(bytes)).toBe(true);
      }
      const missing = sha256('not there').toString();
      await expect(store.read(missing)).rejects.toMatchObject({ code: 'OCI_BLOB_NOT_FOUND' });
      // A directory or a FIFO where a blob should be: not a blob (as `has` says), and no hang on the FIFO.
      const dirBlob = sha256('a directory').toString();
      await mkdir(store.path(dirBlob), { recursive: true });
      await expect(store.read(dirBlob)).rejects.toMatchObject({ code: 'OCI_BLOB_NOT_FOUND' });
      const fifoBlob = sha256('a fifo').toString();
      execFileSync('mkfifo', [store.path(fifoBlob)]);
      expect(await store.has(fifoBlob)).toBe(false);
      await expect(store.read(fifoBlob)).rejects.toMatchObject({ code: 'OCI_BLOB_NOT_FOUND' });
    } finally {
      await dir.cleanup();
    }
  });
});
