import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layerFromEntries } from '../src/index.ts';

describe('layerFromEntries when keeping the bytes fails', () => {
  it('rejects instead of hanging (temp dir missing), with one gzip thread and several', async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent/scratchpack-test';
    try {
      for (const opts of [{ gzipConcurrency: 1 }, {}]) {
        const layer = layerFromEntries(
          [{ type: 'file', path: 'big', content: Buffer.alloc(24 * 1024 * 1024, 7) }],
          { spoolThreshold: 1024, compressionLevel: 0, ...opts },
        );
        await expect(layer.digest()).rejects.toThrow(/ENOENT/);
      }
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  }, 20_000);

  it('names a file that is shorter than announced (changed while read), small or streamed', async () => {
    const path = join(tmpdir(), `scratchpack-short-${process.pid}`);
    await writeFile(path, 'ten bytes!');
    try {
      for (const size of [100, 5 * 1024 * 1024]) {
        const layer = layerFromEntries([{ type: 'file', path: 'x', source: path, offset: 0, size }]);
        await expect(layer.digest()).rejects.toMatchObject({
          code: 'OCI_INVALID_ENTRY',
          message: expect.stringMatching(/"x": cannot read .*: it became shorter while it was read/),
        });
      }
    } finally {
      await rm(path, { force: true });
    }
  });
});
