/**
 * The bin's quick check of the prebuilt bundle: a stat stamp (path, size, mtime of every source) recorded with the
 * sources' hash. While it holds, the recorded hash is trusted without reading the sources; once any source's
 * stat changes, the full hash decides again.
 */

import { stat, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { bundleIsCurrent, inputsHash, inputsStamp } = createRequire(import.meta.url)('../bin/inputs.cjs') as {
  bundleIsCurrent(files?: { inputs: string; stamp: string }): boolean;
  inputsHash(): string;
  inputsStamp(): string;
};

import { repoRoot } from './helpers.ts';

describe('the bundle check', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let files: { inputs: string; stamp: string };
  beforeAll(async () => {
    dir = await tempDir('bundle-stamp-');
    files = { inputs: join(dir.path, 'inputs'), stamp: join(dir.path, 'stamp') };
  });
  afterAll(() => dir?.cleanup());

  it('is current by the full hash without a stamp, and not with another hash', async () => {
    await writeFile(files.inputs, `${inputsHash()}\n`);
    expect(bundleIsCurrent(files)).toBe(true);
    await writeFile(files.inputs, 'f'.repeat(64));
    expect(bundleIsCurrent(files)).toBe(false);
  });

  it('trusts the recorded hash while the stamp holds, and hashes again once a source is touched', async () => {
    // A recorded hash that is not the sources' shows which check answered: only the stamp can say yes to it.
    const recorded = 'e'.repeat(64);
    await writeFile(files.inputs, `${recorded}\n`);
    await writeFile(files.stamp, `${inputsStamp()} ${recorded}\n`);
    expect(bundleIsCurrent(files)).toBe(true);
    // A stamp recorded with another hash than the bundle's is not trusted.
    await writeFile(files.stamp, `${inputsStamp()} ${'d'.repeat(64)}\n`);
    expect(bundleIsCurrent(files)).toBe(false);
    await writeFile(files.stamp, `${inputsStamp()} ${recorded}\n`);
    const source = join(repoRoot, 'apps', 'cli', 'package.json');
    const before = await stat(source);
    await utimes(source, before.atime, new Date(before.mtimeMs + 5000));
    try {
      expect(bundleIsCurrent(files)).toBe(false);
    } finally {
      await utimes(source, before.atime, before.mtime);
    }
  });
});
