/** Where build, import and pull write is checked first: no raw ENOTDIR/EISDIR, nothing half-done. */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.ts';
import { checkOutputPath } from '../src/output-path.ts';
import { cli } from './helpers.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('cli-outpath-'));
  await writeFile(join(dir, 'afile'), 'x');
  await mkdir(join(dir, 'adir.tar'));
});
afterEach(() => cleanup());

describe('checkOutputPath', () => {
  it('accepts new paths, existing layouts and archives', async () => {
    await checkOutputPath(join(dir, 'new/deeper/oci'), 'layout', '--output');
    await checkOutputPath(join(dir, 'adir.tar'), 'layout', '--output');
    await checkOutputPath(join(dir, 'afile'), 'archive', '--output');
  });

  it.each([
    ['afile', 'layout', /afile exists and is not a directory: an OCI layout is a directory/],
    ['afile/x', 'layout', /afile is a file, not a directory/],
    ['afile/x/y.tar', 'archive', /afile is a file, not a directory/],
    ['adir.tar', 'archive', /adir\.tar is a directory: an OCI archive is a file/],
  ] as const)('%s as a %s is a usage error', async (rel, kind, why) => {
    const err = await checkOutputPath(join(dir, rel), kind, '--output').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(why);
  });
});

describe('the commands', () => {
  it('build -o at an existing file, import and pull into one: exit 2 with a clear message', async () => {
    const ctx = join(dir, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'hello'), 'x');
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY hello /\nCMD ["/hello"]\n');
    const b = await cli(['build', ctx, '--platform', 'linux/amd64', '-o', join(dir, 'afile')]);
    expect(b.status).toBe(2);
    expect(b.stderr).toContain(`error: --output ${join(dir, 'afile')} exists and is not a directory`);
    const a = await cli(['build', ctx, '--platform', 'linux/amd64', '-o', join(dir, 'afile', 'x.tar')]);
    expect(a.status).toBe(2);
    expect(a.stderr).not.toMatch(/ENOTDIR|\n\s+at /);
    const i = await cli(['import', '-', join(dir, 'afile', 'l')], { input: '' });
    expect(i.status).toBe(2);
    expect(i.stderr).toContain('is a file, not a directory');
    const p = await cli(['pull', '127.0.0.1:9/x', join(dir, 'afile')]);
    expect(p.status).toBe(2);
    expect(p.stderr).toContain('exists and is not a directory');
    expect((await readdir(dir)).sort()).toEqual(['adir.tar', 'afile', 'ctx']);
  }, 60_000);
});
