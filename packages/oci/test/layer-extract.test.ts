/**
 * One layer unpacked on its own (`extractLayer`, for a stack of layers under an overlay): whiteouts are handed to
 * the caller's markers instead of applied, always inside the layer's directory; the hostile-layer protections of
 * `extractRootfs` hold; the diff_id is verified; unpacking stops at its byte budget and says why.
 */
import { chmod, lstat, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendLayers,
  extractLayer,
  extractRootfs,
  type Layer,
  layerFromCompressedBuffer,
  MediaTypes,
  scratch,
  sha256,
  unpackBudget,
  type WhiteoutMarkers,
} from '../src/index.ts';
import { makeTar } from './helpers.ts';

let base: string;
let host: string;
let n = 0;
let marks: string[];
const cleanups: (() => Promise<void>)[] = [];
beforeEach(async () => {
  const r = await tempDir('oci-layer-');
  const h = await tempDir('oci-layer-host-');
  cleanups.push(r.cleanup, h.cleanup);
  base = r.path;
  host = h.path;
  marks = [];
  await mkdir(join(host, 'secret-dir'));
  await writeFile(join(host, 'secret-dir', 'keep'), 'kept');
  await chmod(join(host, 'secret-dir'), 0o700);
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

type Entries = Parameters<typeof makeTar>[0];

async function rawLayer(entries: Entries, diffId?: string): Promise<Layer> {
  const tar = await makeTar(entries);
  const gz = gzipSync(tar);
  return layerFromCompressedBuffer(gz, {
    digest: sha256(gz),
    diffId: diffId ? sha256(diffId) : sha256(tar),
    mediaType: MediaTypes.ociLayerGzip,
  });
}

/** Recording markers: a whiteout becomes a file `WH`, an opaque directory gets a file `.opaque`. */
const markers: WhiteoutMarkers = {
  whiteout: async (p) => {
    marks.push(`wh ${p}`);
    await writeFile(p, 'WH');
  },
  opaque: async (d) => {
    marks.push(`opq ${d}`);
    await writeFile(join(d, '.opaque'), '');
  },
};

async function unpack(entries: Entries, budget?: Awaited<ReturnType<typeof unpackBudget>>) {
  const dir = join(base, `layer-${++n}`);
  const report = await extractLayer(await rawLayer(entries), dir, { markers, ...(budget ? { budget } : {}) });
  return { dir, report };
}

const file = (name: string, body = 'x') => ({ header: { name, type: 'file' as const }, body });
const link = (name: string, linkname: string) => ({ header: { name, type: 'symlink' as const, linkname } });

describe('extractLayer', () => {
  it('keeps whiteouts and opaque directories as markers; an entry of the same layer wins over its whiteout', async () => {
    const { dir } = await unpack([
      file('etc/.wh.motd', ''),
      file('a/.wh..wh..opq', ''),
      file('a/new'),
      file('b/.wh.x', ''),
      file('b/x', 'same layer'),
      file('c/x', 'first'),
      file('c/.wh.x', ''),
    ]);
    // b/x: marked, then replaced by the entry that follows it.
    expect(marks.map((m) => m.replace(dir, 'L'))).toEqual(['wh L/etc/motd', 'opq L/a', 'wh L/b/x']);
    expect(await readFile(join(dir, 'etc/motd'), 'utf8')).toBe('WH');
    expect((await readdir(join(dir, 'a'))).sort()).toEqual(['.opaque', 'new']);
    expect(await readFile(join(dir, 'b/x'), 'utf8')).toBe('same layer');
    expect(await readFile(join(dir, 'c/x'), 'utf8')).toBe('first');
  });

  it('markers stay inside the layer: whiteouts under symlinked parents, of `..`, of the root', async () => {
    const { dir } = await unpack([
      link('p', join(host, 'secret-dir')),
      file('p/.wh.keep', ''),
      link('q', `../../../../../../..${host}`),
      file('q/.wh.secret-dir', ''),
      link('r', host),
      file('r/.wh..wh..opq', ''),
      link('slash', '/'),
      file('slash/.wh.etc', ''),
    ]);
    for (const m of marks) expect(relative(dir, m.split(' ')[1]!)).not.toMatch(/^\.\./);
    // q/.wh.secret-dir names the directory p's whiteout made in this layer: nothing below to hide, no marker.
    expect(marks.map((m) => m.split(' ')[0])).toEqual(['wh', 'opq', 'wh']);
    expect((await stat(join(host, 'secret-dir'))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(host, 'secret-dir'))).toEqual(['keep']);
    for (const name of ['x/.wh...', 'x/.wh..', '.wh...']) {
      const err = await unpack([file(name, '')]).catch((e: unknown) => e);
      expect(err, name).toMatchObject({ code: 'OCI_UNSAFE_PATH' });
    }
    // A file written over a symlink replaces the link, never its target.
    const { dir: d2 } = await unpack([link('f', join(host, 'secret-dir', 'keep')), file('f', 'mine')]);
    expect(await readFile(join(host, 'secret-dir', 'keep'), 'utf8')).toBe('kept');
    expect((await lstat(join(d2, 'f'))).isFile()).toBe(true);
  });

  it('verifies the diff_id and refuses a non-empty directory', async () => {
    const bad = await rawLayer([file('a')], 'not the tar');
    const err = await extractLayer(bad, join(base, 'bad'), { markers }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OCI_DIGEST_MISMATCH' });
    await mkdir(join(base, 'used'));
    await writeFile(join(base, 'used', 'mine'), 'm');
    const used = await extractLayer(await rawLayer([file('a')]), join(base, 'used'), { markers }).catch(
      (e: unknown) => e,
    );
    expect(used).toMatchObject({ code: 'OCI_ROOTFS_NOT_EMPTY' });
  });

  it('stops past its byte budget with an error naming the layer, the bound and what to do', async () => {
    const big = 'z'.repeat(300_000);
    const budget = await unpackBudget(base, 100_000);
    expect(budget.bound).toBe('max-size');
    const err = (await unpack([file('big', big)], budget).catch((e: unknown) => e)) as Error & {
      code: string;
      hint: string;
    };
    expect(err.code).toBe('OCI_UNPACK_TOO_LARGE');
    expect(err.message).toMatch(
      /^layer 0 \(sha256:[0-9a-f]{64}\): unpacks to more than the --max-size limit/,
    );
    expect(err.hint).toContain('--max-size');
    // Within the budget it unpacks; without a limit the bound is the free space.
    const ok = await unpack([file('small', 'y'.repeat(1000))], await unpackBudget(base, 100_000));
    expect(ok.report.entries).toBe(1);
    const free = await unpackBudget(join(base, 'not', 'made', 'yet'));
    expect(free.bound).toBe('free-space');
    expect(free.limit).toBeGreaterThan(0);
  });
});

describe('extractRootfs past its budget', () => {
  it('removes what it wrote from the directory it was given', async () => {
    const layers = await Promise.all([
      rawLayer([file('a/one', 'x'.repeat(50_000))]),
      rawLayer([file('b/two', 'y'.repeat(80_000))]),
    ]);
    const img = await appendLayers(scratch, ...layers.map((layer) => ({ layer })));
    const dir = join(base, 'kept');
    const err = await extractRootfs(img, dir, { budget: await unpackBudget(dir, 100_000) }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'OCI_UNPACK_TOO_LARGE' });
    expect((err as Error).message).toMatch(/^layer 1 /);
    expect(await readdir(dir)).toEqual([]);
  });
});
