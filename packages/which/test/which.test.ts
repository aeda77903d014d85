/** The one PATH lookup: first executable match, empty entries skipped, a custom test when given. */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findOnPath, isExecutable } from '../src/index.ts';

// Node built-ins only, no test-utils: test-utils depends on this package.
let dir: { path: string };
beforeEach(async () => {
  dir = { path: await mkdtemp(join(tmpdir(), 'which-')) };
});
afterEach(() => rm(dir.path, { recursive: true, force: true }));

async function program(sub: string, name: string, mode: number, body = '#!/bin/sh\n'): Promise<string> {
  await mkdir(join(dir.path, sub), { recursive: true });
  const p = join(dir.path, sub, name);
  await writeFile(p, body);
  await chmod(p, mode);
  return p;
}

describe('findOnPath', () => {
  it('returns the first executable match, skipping empty entries and non-executables', async () => {
    await program('a', 'tool', 0o644);
    const b = await program('b', 'tool', 0o755);
    await program('c', 'tool', 0o755);
    const PATH = [
      '',
      join(dir.path, 'a'),
      join(dir.path, 'missing'),
      join(dir.path, 'b'),
      join(dir.path, 'c'),
    ].join(delimiter);
    expect(findOnPath('tool', { PATH })).toBe(b);
    expect(isExecutable(b)).toBe(true);
    expect(findOnPath('other', { PATH })).toBeUndefined();
    expect(findOnPath('tool', {})).toBeUndefined();
  });

  it('asks `usable` instead when given', async () => {
    await program('a', 'zig', 0o755, '');
    const b = await program('b', 'zig', 0o755);
    const PATH = [join(dir.path, 'a'), join(dir.path, 'b')].join(delimiter);
    expect(findOnPath('zig', { PATH })).toBe(join(dir.path, 'a', 'zig'));
    expect(findOnPath('zig', { PATH }, (p) => p === b)).toBe(b);
  });
});
