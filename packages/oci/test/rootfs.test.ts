import fs from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  appendLayers,
  extractRootfs,
  type Layer,
  layerFromCompressedBuffer,
  layerFromEntries,
  MediaTypes,
  scratch,
  sha256,
} from '../src/index.ts';
import { makeTar } from './helpers.ts';

const { openSync: realOpenSync, closeSync: realCloseSync, close: realClose } = fs;

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('oci-rootfs-'));
});
afterEach(() => cleanup());

/** A layer from a hand-made (possibly hostile) tar, bypassing our normalisation. */
async function rawLayer(entries: Parameters<typeof makeTar>[0]): Promise<Layer> {
  const tar = await makeTar(entries);
  const gz = gzipSync(tar);
  return layerFromCompressedBuffer(gz, {
    digest: sha256(gz),
    diffId: sha256(tar),
    mediaType: MediaTypes.ociLayerGzip,
  });
}

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

describe('extractRootfs', () => {
  it('applies layers base first with whiteouts and opaque directories', async () => {
    const base = layerFromEntries([
      { type: 'file', path: 'bin/hello', content: 'v1', mode: 0o755 },
      { type: 'file', path: 'etc/passwd', content: 'root:x:0:0' },
      { type: 'file', path: 'etc/group', content: 'root:x:0:' },
      { type: 'file', path: 'var/cache/old', content: 'old' },
      { type: 'dir', path: 'var/cache/sub' },
      { type: 'symlink', path: 'lnk', target: '/etc' },
      { type: 'hardlink', path: 'bin/hello2', target: 'bin/hello' },
    ]);
    const top = layerFromEntries([
      { type: 'whiteout', path: 'etc/passwd' },
      { type: 'opaque', path: 'var/cache' },
      { type: 'file', path: 'var/cache/new', content: 'new' },
      { type: 'file', path: 'bin/hello', content: 'v2', mode: 0o700 },
    ]);
    const img = await appendLayers(scratch, { layer: base }, { layer: top });
    const report = await extractRootfs(img, dir);
    expect(report.warnings).toEqual([]);
    expect(await readFile(join(dir, 'bin/hello'), 'utf8')).toBe('v2');
    expect((await lstat(join(dir, 'bin/hello'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(dir, 'bin/hello2'), 'utf8')).toBe('v1');
    expect(await exists(join(dir, 'etc/passwd'))).toBe(false);
    expect(await exists(join(dir, 'etc/group'))).toBe(true);
    expect((await readdir(join(dir, 'var/cache'))).sort()).toEqual(['new']);
    expect(await readlink(join(dir, 'lnk'))).toBe('/etc');
  });

  it('resolves symlinked parents inside the root, never on the host', async () => {
    const outside = await tempDir('oci-outside-');
    try {
      const evil = await rawLayer([
        { header: { name: 'up', type: 'symlink', linkname: `../../../../../../..${outside.path}` } },
        { header: { name: 'abs', type: 'symlink', linkname: outside.path } },
        { header: { name: 'up/pwned', type: 'file' }, body: 'x' },
        { header: { name: 'abs/pwned2', type: 'file' }, body: 'y' },
      ]);
      await extractRootfs(await appendLayers(scratch, { layer: evil }), dir);
      expect(await readdir(outside.path)).toEqual([]);
      expect(await readFile(join(dir, outside.path, 'pwned'), 'utf8')).toBe('x');
      expect(await readFile(join(dir, outside.path, 'pwned2'), 'utf8')).toBe('y');
    } finally {
      await outside.cleanup();
    }
  });

  it('refuses `..` entries with OCI_UNSAFE_PATH naming the layer', async () => {
    const evil = await rawLayer([{ header: { name: 'a/../../escape', type: 'file' }, body: 'x' }]);
    await expect(extractRootfs(await appendLayers(scratch, { layer: evil }), dir)).rejects.toMatchObject({
      code: 'OCI_UNSAFE_PATH',
      message: expect.stringMatching(/layer 0 \(sha256:[0-9a-f]+\): unsafe path "a\/\.\.\/\.\.\/escape"/),
    });
  });

  it('checks each layer against its diff_id as it unpacks: a mismatch is OCI_DIGEST_MISMATCH', async () => {
    const tar = await makeTar([{ header: { name: 'f', type: 'file' }, body: 'real bytes' }]);
    const gz = gzipSync(tar);
    const lying = layerFromCompressedBuffer(gz, {
      digest: sha256(gz),
      diffId: sha256(Buffer.from('other bytes')),
      mediaType: MediaTypes.ociLayerGzip,
    });
    await expect(extractRootfs(await appendLayers(scratch, { layer: lying }), dir)).rejects.toMatchObject({
      code: 'OCI_DIGEST_MISMATCH',
      message: expect.stringMatching(
        /layer 0 \(sha256:[0-9a-f]+\): uncompressed \(diff_id\): expected digest/,
      ),
    });
    // The honest layer unpacks (trailing zero blocks and padding included in the hash).
    await expect(
      extractRootfs(
        await appendLayers(scratch, {
          layer: await rawLayer([{ header: { name: 'f', type: 'file' }, body: 'real bytes' }]),
        }),
        join(dir, 'ok'),
      ),
    ).resolves.toMatchObject({ entries: 1 });
  });

  it('reports device nodes it cannot create', async () => {
    const dev = await rawLayer([
      { header: { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 } },
    ]);
    const report = await extractRootfs(await appendLayers(scratch, { layer: dev }), dir);
    expect(report.warnings).toEqual([expect.stringContaining('skipped character-device dev/null')]);
  });
});

describe('extractRootfs stopped inside a large file', () => {
  it('closes that file once, itself: no second, late close from a stream (it could hit a reused number)', async () => {
    const big = Buffer.alloc(3 << 20, 'b');
    const img = await appendLayers(scratch, {
      layer: layerFromEntries([{ type: 'file', path: 'big', content: big }]),
    });
    const budget = { limit: 1 << 20, used: 0, dir, bound: 'max-size' as const };
    // Every open and close of the fs module, synchronous or not, as the extraction and fs's own streams call them.
    const opened: number[] = [];
    const closed: number[] = [];
    const open = vi.spyOn(fs, 'openSync').mockImplementation((...a: Parameters<typeof fs.openSync>) => {
      const fd = Reflect.apply(realOpenSync, fs, a) as number;
      if (String(a[0]).endsWith('/big')) opened.push(fd);
      return fd;
    });
    const closeSync = vi.spyOn(fs, 'closeSync').mockImplementation((fd) => {
      closed.push(fd);
      realCloseSync(fd);
    });
    const close = vi.spyOn(fs, 'close').mockImplementation(((
      fd: number,
      cb?: (err: Error | null) => void,
    ) => {
      closed.push(fd);
      realClose(fd, cb ?? (() => {}));
    }) as typeof fs.close);
    syncBuiltinESMExports();
    try {
      await expect(extractRootfs(img, join(dir, 'root'), { budget })).rejects.toMatchObject({
        code: 'OCI_UNPACK_TOO_LARGE',
      });
      for (let k = 0; k < 10; k++) await new Promise((r) => setTimeout(r, 10));
    } finally {
      open.mockRestore();
      closeSync.mockRestore();
      close.mockRestore();
      syncBuiltinESMExports();
    }
    expect(opened).toHaveLength(1);
    expect(closed.filter((fd) => fd === opened[0])).toHaveLength(1);
  });
});
