import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { expect, it } from 'vitest';
import { GZIP_BLOCK_SIZE, parallelGzip } from '../src/index.ts';
import { bytes, collect } from './helpers.ts';

const script = join(import.meta.dirname, 'fixtures', 'gzip-file.mts');
const ociSrc = join(import.meta.dirname, '..', 'src', 'index.ts');

/** gzip `input` in a child process, optionally pinned to CPU 0; its output and the CPUs it saw. */
function gzipInChild(input: string, output: string, level: number, pinned: boolean): { cpus: number } {
  const argv = [process.execPath, '--import', 'tsx', script, ociSrc, input, output, String(level)];
  const r = pinned
    ? spawnSync('taskset', ['-c', '0', ...argv], {
        encoding: 'utf8',
        env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
      })
    : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gzip-file.mts failed (${r.status}): ${r.stderr}`);
  return { cpus: Number(r.stdout.trim()) };
}

describeWithTools(['gzip', 'taskset'], 'parallelGzip against gzip and taskset', () => {
  it('writes the same bytes on one CPU (taskset -c 0, one libuv thread) as on all; gzip -t and gunzip accept them', async () => {
    const dir = await tempDir('parallel-gzip-');
    try {
      const input = join(dir.path, 'input');
      const data = Buffer.concat([bytes(12 * GZIP_BLOCK_SIZE + 777), Buffer.alloc(300_000, 'z')]);
      await writeFile(input, data);
      const inProcess = await collect(
        parallelGzip(
          (async function* () {
            yield data;
          })(),
          { level: 6 },
        ),
      );
      const pinned = gzipInChild(input, join(dir.path, 'pinned.gz'), 6, true);
      const free = gzipInChild(input, join(dir.path, 'free.gz'), 6, false);
      expect(pinned.cpus).toBe(1);
      expect(free.cpus).toBeGreaterThanOrEqual(1);
      const a = await readFile(join(dir.path, 'pinned.gz'));
      const b = await readFile(join(dir.path, 'free.gz'));
      expect(a.equals(b)).toBe(true);
      expect(a.equals(inProcess)).toBe(true);
      execFileSync('gzip', ['-t', join(dir.path, 'pinned.gz')]);
      expect(
        execFileSync('gunzip', ['-c', join(dir.path, 'pinned.gz')], { maxBuffer: 64 << 20 }).equals(data),
      ).toBe(true);
      // gzip -l reads the trailer: the uncompressed size is the input's.
      expect(execFileSync('gzip', ['-l', join(dir.path, 'pinned.gz')], { encoding: 'utf8' })).toContain(
        String(data.length),
      );
    } finally {
      await dir.cleanup();
    }
  }, 120_000);
});
