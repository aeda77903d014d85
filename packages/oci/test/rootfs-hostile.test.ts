/**
 * Hostile layers against rootfs extraction: every metadata call acts on the entry itself, never through a
 * symlink and never outside the root, whatever order entries and layers come in; whiteouts remove only
 * something inside the root, below their own directory. Each test keeps a host file or directory outside
 * the root and proves it untouched.
 */
import { chmod, lstat, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendLayers,
  extractRootfs,
  type Layer,
  layerFromCompressedBuffer,
  MediaTypes,
  scratch,
  sha256,
} from '../src/index.ts';
import { makeTar } from './helpers.ts';

let base: string;
let root: string;
let host: string;
let n = 0;
const cleanups: (() => Promise<void>)[] = [];
beforeEach(async () => {
  const r = await tempDir('oci-hostile-root-');
  const h = await tempDir('oci-hostile-host-');
  cleanups.push(r.cleanup, h.cleanup);
  base = r.path;
  root = join(base, 'rootfs');
  host = h.path;
  // The "host" files an attacker aims at: a directory and a file with ordinary, restrictive modes.
  await mkdir(join(host, 'secret-dir', 'b'), { recursive: true });
  await writeFile(join(host, 'secret-file'), 'host data');
  await writeFile(join(host, 'secret-dir', 'keep'), 'kept');
  await chmod(join(host, 'secret-file'), 0o600);
  await chmod(join(host, 'secret-dir'), 0o700);
  await chmod(join(host, 'secret-dir', 'b'), 0o700);
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

type Entries = Parameters<typeof makeTar>[0];

async function rawLayer(entries: Entries): Promise<Layer> {
  const tar = await makeTar(entries);
  const gz = gzipSync(tar);
  return layerFromCompressedBuffer(gz, {
    digest: sha256(gz),
    diffId: sha256(tar),
    mediaType: MediaTypes.ociLayerGzip,
  });
}

/** Extract into a fresh root (kept in `root` for the assertions that follow). */
async function extract(...layers: Entries[]) {
  root = join(base, `rootfs-${++n}`);
  const ls = await Promise.all(layers.map(rawLayer));
  return extractRootfs(await appendLayers(scratch, ...ls.map((layer) => ({ layer }))), root);
}

async function hostUntouched() {
  expect((await stat(join(host, 'secret-file'))).mode & 0o7777).toBe(0o600);
  expect((await stat(join(host, 'secret-dir'))).mode & 0o7777).toBe(0o700);
  expect((await stat(join(host, 'secret-dir', 'b'))).mode & 0o7777).toBe(0o700);
  expect(await readFile(join(host, 'secret-file'), 'utf8')).toBe('host data');
  expect((await readdir(join(host, 'secret-dir'))).sort()).toEqual(['b', 'keep']);
}

const dir = (name: string, mode = 0o6777) => ({ header: { name, type: 'directory' as const, mode } });
const link = (name: string, linkname: string) => ({ header: { name, type: 'symlink' as const, linkname } });
const file = (name: string, body: string) => ({ header: { name, type: 'file' as const, mode: 0o644 }, body });

describe('extractRootfs against hostile layers', () => {
  it('a directory mode is never applied through a symlink that replaced it later in the same layer', async () => {
    await extract([dir('d'), { header: { name: 'd', type: 'symlink', linkname: join(host, 'secret-dir') } }]);
    await hostUntouched();
    expect((await lstat(join(root, 'd'))).isSymbolicLink()).toBe(true);
  });

  it('… nor through a symlink put there by a later layer (a file symlink too)', async () => {
    await extract(
      [dir('d'), dir('f', 0o4777)],
      [link('d', join(host, 'secret-dir')), link('f', join(host, 'secret-file'))],
    );
    await hostUntouched();
  });

  it('… nor through a parent directory replaced by a symlink (relative and absolute targets)', async () => {
    const up = `${'../'.repeat(12)}${host.slice(1)}/secret-dir`;
    await extract(
      [dir('a'), dir('a/b'), dir('c'), dir('c/b')],
      [link('a', up), link('c', join(host, 'secret-dir'))],
    );
    await hostUntouched();
  });

  it('a folder replaced by a symlink in the same layer: its next entries go through the link, inside the root', async () => {
    // Entries of one folder are written without resolving the folder again, until anything is replaced.
    await extract([
      dir('a'),
      file('a/x', 'first'),
      link('a', join(host, 'secret-dir')),
      file('a/y', 'through the link'),
      dir('a/b'),
    ]);
    await hostUntouched();
    // The link was followed as the image sees it: the absolute target is a path inside the root.
    expect(await readFile(join(root, host, 'secret-dir', 'y'), 'utf8')).toBe('through the link');
    expect((await lstat(join(root, 'a'))).isSymbolicLink()).toBe(true);
  });

  it('a name given twice in one layer: the later entry wins, whatever each is (file, link, directory)', async () => {
    await extract([
      file('f', 'old'),
      file('f', 'new'),
      file('l', 'a file first'),
      link('l', 'f'),
      link('m', 'f'),
      file('m', 'a file now'),
      dir('d'),
      file('d/inside', 'gone with d'),
      file('d', 'a file where a folder was'),
      { header: { name: 'h', type: 'file' as const, mode: 0o644 }, body: 'replaced by a link' },
      { header: { name: 'h', type: 'link' as const, linkname: 'f' } },
    ]);
    expect(await readFile(join(root, 'f'), 'utf8')).toBe('new');
    expect(await readFile(join(root, 'l'), 'utf8')).toBe('new');
    expect((await lstat(join(root, 'l'))).isSymbolicLink()).toBe(true);
    expect((await lstat(join(root, 'm'))).isFile()).toBe(true);
    expect(await readFile(join(root, 'm'), 'utf8')).toBe('a file now');
    expect(await readFile(join(root, 'd'), 'utf8')).toBe('a file where a folder was');
    expect((await stat(join(root, 'h'))).ino).toBe((await stat(join(root, 'f'))).ino);
    await hostUntouched();
  });

  it('a file entry written over a symlink replaces the link, it never writes or chmods its target', async () => {
    await extract(
      [link('f', join(host, 'secret-file'))],
      [{ header: { name: 'f', type: 'file', mode: 0o6777 }, body: 'x' }],
    );
    await hostUntouched();
    expect(await readFile(join(root, 'f'), 'utf8')).toBe('x');
  });

  it('a hardlink to a missing target is OCI_HARDLINK_TARGET_MISSING naming both, not ENOENT', async () => {
    const err = await extract([{ header: { name: 'h', type: 'link', linkname: 'missing' } }]).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({
      code: 'OCI_HARDLINK_TARGET_MISSING',
      message: expect.stringContaining(
        'hardlink "h" points at "missing", which is not a regular file earlier',
      ),
    });
  });

  it('a hardlink to a symlink links the symlink itself, not the host file', async () => {
    await extract([
      link('l', join(host, 'secret-file')),
      { header: { name: 'h', type: 'link', linkname: 'l' } },
    ]);
    await hostUntouched();
    expect((await lstat(join(root, 'h'))).isSymbolicLink()).toBe(true);
  });

  it('a whiteout naming `..` or `.` (x/.wh... and x/.wh..) is refused and removes nothing', async () => {
    for (const name of ['x/.wh...', 'x/.wh..', '.wh...', '.wh.']) {
      await writeFile(join(host, 'canary'), 'c');
      const err = await extract(
        [dir('x', 0o755), { header: { name: 'x/keep', type: 'file' }, body: 'k' }],
        [{ header: { name, type: 'file' }, body: '' }],
      ).catch((e: unknown) => e);
      expect(err, name).toMatchObject({ code: 'OCI_UNSAFE_PATH' });
      expect(await readFile(join(root, 'x/keep'), 'utf8'), name).toBe('k');
    }
  });

  it('a whiteout under a symlinked parent stays inside the root', async () => {
    await extract(
      [link('p', join(host, 'secret-dir'))],
      [{ header: { name: 'p/.wh.keep', type: 'file' }, body: '' }],
    );
    await extract(
      [link('q', `../../../../../../..${host}`)],
      [{ header: { name: 'q/.wh.secret-dir', type: 'file' }, body: '' }],
    );
    await extract([link('r', host)], [{ header: { name: 'r/.wh..wh..opq', type: 'file' }, body: '' }]);
    await hostUntouched();
  });

  it('refuses a directory that already has contents, and leaves them', async () => {
    await mkdir(join(base, 'used'));
    await writeFile(join(base, 'used', 'mine'), 'm');
    const l = await rawLayer([{ header: { name: 'x/.wh...', type: 'file' }, body: '' }]);
    const err = await extractRootfs(await appendLayers(scratch, { layer: l }), join(base, 'used')).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'OCI_ROOTFS_NOT_EMPTY' });
    expect(await readdir(join(base, 'used'))).toEqual(['mine']);
  });

  it('a whiteout of the root by a symlink to / removes only inside the root', async () => {
    await extract(
      [{ header: { name: 'etc/keep', type: 'file' }, body: 'k' }, link('slash', '/')],
      [{ header: { name: 'slash/.wh.etc', type: 'file' }, body: '' }],
    );
    await hostUntouched();
    expect((await readdir(root)).sort()).toEqual(['slash']);
  });
});
