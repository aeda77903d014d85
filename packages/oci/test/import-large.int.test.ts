/**
 * A tarball of several hundred MB (a sparse file, packed by GNU tar) imported through the streaming path gives
 * exactly the layer of the in-memory path, and its diff_id is the sha256 of the decompressed blob.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { importTarLayer, layerFromEntries, readTarEntries, sha256 } from '../src/index.ts';

const SIZE = 300 * 1024 * 1024;

describeWithTools(['tar'], 'import of a large tarball', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let tarPath: string;
  beforeAll(async () => {
    work = await tempDir('import-large-');
    const root = join(work.path, 'rootfs');
    await mkdir(join(root, 'var'), { recursive: true });
    await writeFile(join(root, 'var', 'big.img'), 'header of a mostly empty disk image\n');
    await truncate(join(root, 'var', 'big.img'), SIZE);
    await writeFile(join(root, 'etc-motd'), 'small\n');
    tarPath = join(work.path, 'rootfs.tar');
    execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', tarPath, '.']);
  });
  afterAll(() => work?.cleanup());

  it('streams it to the same digests as the in-memory path', async () => {
    const { layer, entries } = await importTarLayer(createReadStream(tarPath), { requireEndMarker: true });
    expect(entries).toBe(3);
    const reference = layerFromEntries(await readTarEntries(createReadStream(tarPath)));
    expect((await layer.digest()).toString()).toBe((await reference.digest()).toString());
    expect((await layer.diffId()).toString()).toBe((await reference.diffId()).toString());
    expect(await layer.uncompressedSize()).toBeGreaterThan(SIZE);
    // The diff_id is what gunzip of the stored blob hashes to.
    const tar: Buffer[] = [];
    for await (const c of layer.compressed().pipe(createGunzip())) tar.push(c as Buffer);
    expect(sha256(Buffer.concat(tar)).toString()).toBe((await layer.diffId()).toString());
  });
});
