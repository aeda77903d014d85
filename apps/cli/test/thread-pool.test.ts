/**
 * The bin sizes libuv's thread pool (where a layer's gzip blocks are deflated) before anything starts it: one
 * thread per core the process may use, libuv's 4 on one core, and an explicit UV_THREADPOOL_SIZE is kept.
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '..', 'bin', 'scratchpack.js');
const { threadPoolSize } = createRequire(import.meta.url)('../bin/thread-pool.cjs') as {
  threadPoolSize(cores: number): number;
};

describe('threadPoolSize', () => {
  it('gives a thread per core from 2 cores on, and libuv’s 4 on one core', () => {
    expect([1, 2, 3, 4, 8, 64].map(threadPoolSize)).toEqual([4, 2, 3, 4, 8, 64]);
  });
});

describe('the bin', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let preload: string;
  beforeEach(async () => {
    dir = await tempDir('thread-pool');
    preload = join(dir.path, 'print-pool.cjs');
    // Loaded before the bin (NODE_OPTIONS --require): prints the pool size the process ended with.
    await writeFile(
      preload,
      "process.on('exit', () => process.stderr.write('POOL=' + process.env.UV_THREADPOOL_SIZE + '\\n'));\n",
    );
  });
  afterEach(() => dir.cleanup());

  /** The UV_THREADPOOL_SIZE `scratchpack --version` ran with, started by `prefix` (e.g. taskset). */
  function poolOf(prefix: string[], env: NodeJS.ProcessEnv = {}): string {
    const { UV_THREADPOOL_SIZE: _, ...base } = process.env;
    const argv = [...prefix, process.execPath, bin, '--version'];
    const r = spawnSync(argv[0]!, argv.slice(1), {
      encoding: 'utf8',
      env: { ...base, NODE_OPTIONS: `--require ${preload}`, ...env },
    });
    expect(r.status, r.stderr).toBe(0);
    const m = /POOL=(\S+)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    return m![1]!;
  }

  it('sizes the pool to the cores this process may use', () => {
    expect(poolOf([])).toBe(String(threadPoolSize(availableParallelism())));
  });

  it('keeps libuv’s 4 when it may use one core (taskset)', () => {
    expect(poolOf(['taskset', '-c', '0'])).toBe('4');
  });

  it('keeps an explicit UV_THREADPOOL_SIZE', () => {
    expect(poolOf([], { UV_THREADPOOL_SIZE: '7' })).toBe('7');
    expect(poolOf(['taskset', '-c', '0'], { UV_THREADPOOL_SIZE: '1' })).toBe('1');
  });
});
