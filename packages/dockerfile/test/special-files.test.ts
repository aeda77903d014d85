/**
 * `COPY . /` over a context holding a FIFO or a socket: they are skipped (a layer cannot carry a FIFO's data or a
 * live socket, and BuildKit's context transfer leaves sockets out too), each named in a SKIPPED_SOURCE warning with
 * the Dockerfile position; the regular files are copied.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { describe, expect, it } from 'vitest';
import { evaluateDockerfile } from '../src/index.ts';
import { layerListing, makeTree } from './helpers.ts';

describe('COPY of special files', () => {
  it('skips FIFOs and sockets with a warning naming each', async () => {
    const { path, cleanup } = await tempDir('dockerfile-special-');
    const server = createServer();
    try {
      await makeTree(path, { 'a.txt': 'a' });
      expect(spawnSync('mkfifo', [join(path, 'pipe')]).status).toBe(0);
      await new Promise<void>((r) => server.listen(join(path, 'sock'), r));
      const { image, warnings } = await evaluateDockerfile('FROM scratch\nCOPY . /\n', {
        context: path,
        platform: 'linux/amd64',
      });
      expect(await layerListing(image)).toEqual([['file a.txt 644 0:0 a']]);
      expect(warnings.map((w) => [w.code, w.line, w.message])).toEqual([
        [
          'SKIPPED_SOURCE',
          2,
          'skipped pipe: a FIFO (named pipe); COPY takes regular files, directories and symlinks',
        ],
        ['SKIPPED_SOURCE', 2, 'skipped sock: a socket; COPY takes regular files, directories and symlinks'],
      ]);
    } finally {
      server.close();
      await cleanup();
    }
  });
});
