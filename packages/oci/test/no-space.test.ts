/** A full disk names the file being written and says to free space (real ENOSPC: /dev/full). */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { describe, expect, it } from 'vitest';
import { writeThroughTemp } from '../src/atomic-file.ts';
import { NoSpaceError } from '../src/index.ts';

describe('disk full', () => {
  it('writeThroughTemp: OCI_NO_SPACE naming the path and the fix; no temp left', async () => {
    const { path, cleanup } = await tempDir('no-space-');
    try {
      const target = join(path, 'blob');
      const err = await writeThroughTemp(target, async () => {
        const full = await open('/dev/full', 'w');
        try {
          await full.write(Buffer.alloc(4096));
        } finally {
          await full.close();
        }
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoSpaceError);
      expect(err).toMatchObject({
        code: 'OCI_NO_SPACE',
        message: `no space left on the device while writing ${target}`,
        hint: expect.stringContaining(`free space on the filesystem that holds ${path} (\`df -h ${path}\`)`),
      });
      expect(await readdir(path)).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});
