/** Atomic file writes: temp name beside the target, tracked while it exists, renamed into place or removed. */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  tempPathFor,
  trackedTemps,
  untrackTemp,
  writeFileAtomic,
  writeFileAtomicSync,
  writeThroughTemp,
} from '../src/index.ts';

let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.cleanup());

describe('atomic files', () => {
  it('tempPathFor names a tracked .tmp-<pid>-… sibling', () => {
    const tmp = tempPathFor(join(dir.path, 'index.json'));
    expect(tmp.startsWith(join(dir.path, `.tmp-${process.pid}-`))).toBe(true);
    expect(tmp.endsWith('-index.json')).toBe(true);
    expect(trackedTemps()).toContain(tmp);
    untrackTemp(tmp);
  });

  it('writeFileAtomic replaces the file and leaves no temp', async () => {
    const file = join(dir.path, 'f');
    await writeFile(file, 'old');
    await writeFileAtomic(file, 'new');
    await writeFileAtomic(file, Buffer.from('newer'));
    expect(await readFile(file, 'utf8')).toBe('newer');
    expect(await readdir(dir.path)).toEqual(['f']);
    expect(trackedTemps().filter((p) => p.startsWith(dir.path))).toEqual([]);
  });

  it('writeFileAtomicSync does the same synchronously', async () => {
    const file = join(dir.path, 'f');
    writeFileAtomicSync(file, 'one');
    writeFileAtomicSync(file, 'two');
    expect(await readFile(file, 'utf8')).toBe('two');
    expect(await readdir(dir.path)).toEqual(['f']);
  });

  it('writeThroughTemp renames what the writer made, returns its value, and keeps the old file on failure', async () => {
    const file = join(dir.path, 'out');
    const written = await writeThroughTemp(file, async (tmp) => {
      await writeFile(tmp, 'v1');
      return 42;
    });
    expect(written).toBe(42);
    expect(await readFile(file, 'utf8')).toBe('v1');
    await expect(
      writeThroughTemp(file, async (tmp) => {
        await writeFile(tmp, 'partial');
        expect(trackedTemps()).toContain(tmp);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await readFile(file, 'utf8')).toBe('v1');
    expect(await readdir(dir.path)).toEqual(['out']);
    expect(trackedTemps().filter((p) => p.startsWith(dir.path))).toEqual([]);
  });
});
