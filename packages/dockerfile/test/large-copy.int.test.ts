/**
 * COPY of a file of several hundred MB streams it from disk; the layer is exactly the one built from the same
 * bytes held in memory. ADD of a large tar spools its contents to a temp file that is gone afterwards.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Layer, layerFromEntries, readTarEntries } from '@scratchpack/oci';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BuildContext } from '../src/context.ts';
import { evaluate } from '../src/index.ts';

const SIZE = 300 * 1024 * 1024;

async function onlyLayer(text: string, context: string, onPackProgress?: (b: number, t: number) => void) {
  const img = await evaluate(text, {
    context,
    platform: 'linux/amd64',
    ...(onPackProgress ? { onPackProgress } : {}),
  });
  const layers = await img.layers();
  expect(layers).toHaveLength(1);
  return layers[0]!;
}

async function sameLayer(a: Layer, b: Layer): Promise<void> {
  expect((await a.digest()).toString()).toBe((await b.digest()).toString());
  expect((await a.diffId()).toString()).toBe((await b.diffId()).toString());
}

describeWithTools(['tar'], 'COPY and ADD of large files', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let big: string;
  let savedTmp: string | undefined;
  beforeAll(async () => {
    work = await tempDir('large-copy-');
    big = join(work.path, 'disk.img');
    await writeFile(big, 'a mostly empty disk image\n');
    await truncate(big, SIZE);
    await writeFile(join(work.path, 'Dockerfile'), 'FROM scratch\n');
    execFileSync('tar', ['-C', work.path, '--numeric-owner', '-cf', join(work.path, 'disk.tar'), 'disk.img']);
    savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = join(work.path, 'tmp');
    await mkdir(process.env.TMPDIR);
  });
  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await work?.cleanup();
  });

  it('COPY: the same layer as the bytes held in memory, with progress up to the tar size', async () => {
    let bytes = 0;
    let total = 0;
    const layer = await onlyLayer('FROM scratch\nCOPY disk.img /var/disk.img\n', work.path, (b, t) => {
      bytes += b;
      total += t;
    });
    const reference = layerFromEntries([
      { type: 'file', path: 'var/disk.img', mode: 0o644, content: await readFile(big) },
    ]);
    await sameLayer(layer, reference);
    expect(bytes).toBe(await layer.uncompressedSize());
    expect(total).toBe(bytes);
  });

  it('ADD of a tar: the same layer as the in-memory reader gives, and no spool left behind', async () => {
    const layer = await onlyLayer('FROM scratch\nADD disk.tar /opt/\n', work.path);
    const inner = await readTarEntries(createReadStream(join(work.path, 'disk.tar')));
    const reference = layerFromEntries(inner.map((e) => ({ ...e, path: `opt/${e.path}` })));
    await sameLayer(layer, reference);
    expect((await readdir(process.env.TMPDIR!)).filter((n) => n.startsWith('scratchpack-import-'))).toEqual(
      [],
    );
  });
});

describeWithTools(['xargs', 'touch'], 'COPY of a folder of very many files', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  const FILES = 130_000;
  beforeAll(async () => {
    work = await tempDir('many-files-');
    // 260 folders of 500 empty files (touch through xargs: quicker than a write per file from here), and a .dockerignore
    // that drops one folder but lets one file of it back in.
    execFileSync(
      'sh',
      [
        '-c',
        'mkdir -p src && cd src && for d in $(seq 0 259); do mkdir d$d; done && ' +
          'for d in $(seq 0 259); do for f in $(seq 0 499); do echo d$d/f$f; done; done | xargs touch',
      ],
      { cwd: work.path },
    );
    await writeFile(join(work.path, '.dockerignore'), 'src/d7\n!src/d7/f3\n');
  }, 120_000);
  afterAll(async () => {
    await work?.cleanup();
  });

  it('lists every entry in order, however many: no argument list per folder (V8 refuses one past ~125,000)', async () => {
    const ctx = await BuildContext.open(work.path);
    const notes: string[] = [];
    const entries = await ctx.entries({ rel: 'src', real: join(work.path, 'src') }, '/app', {}, notes);
    const files = entries.filter((e) => e.type === 'file');
    expect(files).toHaveLength(FILES - 500 + 1);
    expect(notes).toEqual([]);
    // The folder first, then its contents; an ignored folder kept for its one exception, before it.
    expect(entries[0]).toMatchObject({ type: 'dir', path: '/app' });
    expect(entries[1]).toMatchObject({ type: 'dir', path: '/app/d0' });
    expect(entries[2]).toMatchObject({ type: 'file', path: '/app/d0/f0' });
    const d7 = entries.findIndex((e) => e.path === '/app/d7');
    expect(entries.slice(d7, d7 + 3).map((e) => e.path)).toEqual(['/app/d7', '/app/d7/f3', '/app/d70']);
    const paths = entries.map((e) => e.path);
    expect(new Set(paths).size).toBe(paths.length);
  }, 60_000);
});
