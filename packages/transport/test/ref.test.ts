/** The one reference rule: prefixes, paths, store-first lookup for reads, registry hosts for writes, errors. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRef, parseImageRef, parseOutputRef } from '../src/index.ts';

let work: Awaited<ReturnType<typeof tempDir>>;
const cwd = process.cwd();
beforeAll(async () => {
  work = await tempDir('ref-');
  await mkdir(join(work.path, 'dist', 'oci'), { recursive: true });
  await writeFile(join(work.path, 'dist', 'oci', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(work.path, 'image.tar'), '');
  process.chdir(work.path);
});
afterAll(async () => {
  process.chdir(cwd);
  await work.cleanup();
});

const inStore = (names: string[]) => ({ inStore: (n: string) => names.includes(n) });
const D = `sha256:${'a'.repeat(64)}`;

describe('explicit transports', () => {
  it.each([
    ['oci:/x/y:1', { kind: 'layout', dir: '/x/y', tag: '1' }],
    [`oci:/x/y@${D}`, { kind: 'layout', dir: '/x/y', digest: D }],
    ['oci:rel', { kind: 'layout', dir: 'rel' }],
    ['oci-archive:/a/b.tar:v2', { kind: 'archive', file: '/a/b.tar', tag: 'v2' }],
    ['store:hello', { kind: 'store', name: 'hello' }],
  ])('%s', async (input, want) => {
    expect(await parseImageRef(input)).toMatchObject(want);
    expect(parseOutputRef(input)).toMatchObject(want);
  });

  it('docker://REF is a registry whatever the store holds', async () => {
    const r = await parseImageRef('docker://hello', inStore(['hello']));
    expect(r).toMatchObject({
      kind: 'registry',
      reference: { registry: 'docker.io', repository: 'library/hello' },
    });
    expect(describeRef(r)).toBe('registry docker.io/library/hello');
  });
});

describe('without a prefix', () => {
  it('paths that exist or look like paths are layouts or archives', async () => {
    expect(await parseImageRef('dist/oci:latest')).toMatchObject({
      kind: 'layout',
      dir: 'dist/oci',
      tag: 'latest',
    });
    expect(await parseImageRef('./nowhere')).toMatchObject({ kind: 'layout', dir: './nowhere' });
    expect(await parseImageRef('image.tar')).toMatchObject({ kind: 'archive', file: 'image.tar' });
  });

  it('ambiguous: a directory on disk and a stored name alike — the path wins, as documented', async () => {
    expect(await parseImageRef('dist/oci', inStore(['dist/oci']))).toMatchObject({
      kind: 'layout',
      dir: 'dist/oci',
    });
    expect(await parseImageRef('store:dist/oci', inStore(['dist/oci']))).toMatchObject({ kind: 'store' });
  });

  it('a name is the store’s when the store has it, else the registry’s (docker run)', async () => {
    expect(await parseImageRef('hello', inStore(['hello']))).toMatchObject({ kind: 'store', name: 'hello' });
    expect(await parseImageRef('127.0.0.1:5000/x:1', inStore(['127.0.0.1:5000/x:1']))).toMatchObject({
      kind: 'store',
    });
    expect(await parseImageRef('127.0.0.1:5000/x:1', inStore([]))).toMatchObject({
      kind: 'registry',
      reference: { registry: '127.0.0.1:5000', repository: 'x', tag: '1' },
    });
    // A digest names registry content, never a stored name.
    expect(await parseImageRef(`hello@${D}`, inStore([`hello@${D}`]))).toMatchObject({ kind: 'registry' });
  });

  it('outputs: a registry host pushes, other names are layout directories', () => {
    expect(parseOutputRef('127.0.0.1:5000/me/app:1')).toMatchObject({ kind: 'registry' });
    expect(parseOutputRef('ghcr.io/me/app')).toMatchObject({ kind: 'registry' });
    expect(parseOutputRef('out/oci')).toMatchObject({ kind: 'layout', dir: 'out/oci' });
    expect(parseOutputRef('hello')).toMatchObject({ kind: 'layout', dir: 'hello' });
  });

  it('something that is no path and no name: one error saying what was tried', async () => {
    const err = await parseImageRef('Not/A:Name!').catch((e) => e);
    expect(err.code).toBe('TRANSPORT_INVALID_REFERENCE');
    expect(err.message).toMatch(/no file or directory .*Not\/A.*not an image name/);
    await expect(parseImageRef('ftp://x/y')).rejects.toMatchObject({ code: 'TRANSPORT_INVALID_REFERENCE' });
    await expect(parseImageRef('')).rejects.toMatchObject({ code: 'TRANSPORT_INVALID_REFERENCE' });
  });
});
