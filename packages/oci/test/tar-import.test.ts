import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { layerFromTarStream, readTarEntries } from '../src/index.ts';
import { layerBytes, listTar, makeTar } from './helpers.ts';

const from = (b: Buffer) => Readable.from([b]);

describe('readTarEntries / layerFromTarStream', () => {
  it('keeps files, dirs, symlinks, hardlinks, devices, modes, ids and xattrs; normalises times and order', async () => {
    const input = await makeTar([
      {
        header: {
          name: 'usr/bin/tool',
          type: 'file',
          mode: 0o4755,
          uid: 5,
          gid: 6,
          pax: { 'SCHILY.xattr.user.a': 'b' },
        },
        body: 'TOOL',
      },
      { header: { name: 'usr/bin/alias', type: 'link', linkname: 'usr/bin/tool' } },
      { header: { name: 'lib', type: 'symlink', linkname: 'usr/lib' } },
      { header: { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 } },
      { header: { name: './etc/', type: 'directory', mode: 0o700 } },
    ]);
    const layer = await layerFromTarStream(from(gzipSync(input)));
    const entries = await listTar((await layerBytes(layer)).tar);
    expect(
      entries.map((e) => `${e.type} ${e.name} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.linkname ?? ''}`),
    ).toEqual([
      'directory dev 755 0:0 ',
      'character-device dev/null 666 0:0 ',
      'directory etc 700 0:0 ',
      'symlink lib 777 0:0 usr/lib',
      'directory usr 755 0:0 ',
      'directory usr/bin 755 0:0 ',
      'file usr/bin/alias 4755 5:6 ',
      'link usr/bin/tool 644 0:0 usr/bin/alias',
    ]);
    expect(entries.every((e) => e.mtime === 0)).toBe(true);
    expect(entries.find((e) => e.name === 'usr/bin/alias')).toMatchObject({
      body: 'TOOL',
      pax: { 'SCHILY.xattr.user.a': 'b' },
    });
  });

  it('maps .wh. names to whiteouts, or refuses them on request', async () => {
    const input = await makeTar([
      { header: { name: 'etc/.wh.passwd', type: 'file' }, body: '' },
      { header: { name: 'var/.wh..wh..opq', type: 'file' }, body: '' },
    ]);
    expect(await readTarEntries(from(input))).toEqual([
      { type: 'whiteout', path: 'etc/passwd' },
      { type: 'opaque', path: 'var' },
    ]);
    await expect(readTarEntries(from(input), { whiteouts: 'refuse', source: 'x.tar' })).rejects.toThrow(
      /x\.tar: unsafe path "etc\/\.wh\.passwd"/,
    );
  });

  it.each([
    [
      'an absolute path',
      [{ header: { name: '/etc/passwd', type: 'file' as const }, body: 'x' }],
      /unsafe path "\/etc\/passwd": absolute/,
    ],
    [
      'a .. escape',
      [{ header: { name: 'a/../../x', type: 'file' as const }, body: 'x' }],
      /unsafe path "a\/\.\.\/\.\.\/x"/,
    ],
  ])('refuses %s with OCI_UNSAFE_PATH', async (_what, entries, msg) => {
    const input = await makeTar(entries);
    await expect(readTarEntries(from(input), { source: 'in.tar' })).rejects.toMatchObject({
      code: 'OCI_UNSAFE_PATH',
      message: expect.stringMatching(msg),
    });
  });

  it('refuses a hardlink to a file not earlier in the archive with OCI_HARDLINK_TARGET_MISSING', async () => {
    const input = await makeTar([{ header: { name: 'a', type: 'link' as const, linkname: 'etc/shadow' } }]);
    await expect(readTarEntries(from(input), { source: 'in.tar' })).rejects.toMatchObject({
      code: 'OCI_HARDLINK_TARGET_MISSING',
      message:
        'in.tar: hardlink "a" points at "etc/shadow", which is not a regular file earlier in the archive',
      hint: expect.stringMatching(/re-create it with the target file included/),
    });
  });

  it('refuses truncated, non-tar, empty and zstd input with OCI_INVALID_TAR naming the entry', async () => {
    const good = await makeTar([{ header: { name: 'big', type: 'file' }, body: 'x'.repeat(5000) }]);
    await expect(readTarEntries(from(good.subarray(0, 2048)))).rejects.toMatchObject({
      code: 'OCI_INVALID_TAR',
      message: expect.stringMatching(/Unexpected end of data.*at entry "big"/),
    });
    await expect(
      readTarEntries(from(Buffer.from('hello, this is not a tar'.repeat(40)))),
    ).rejects.toMatchObject({ code: 'OCI_INVALID_TAR' });
    await expect(readTarEntries(from(Buffer.alloc(0)))).rejects.toThrow(/empty, not a tar/);
    await expect(readTarEntries(from(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0])))).rejects.toThrow(
      /zstd-compressed/,
    );
    await expect(readTarEntries(from(gzipSync(good).subarray(0, 40)))).rejects.toMatchObject({
      code: 'OCI_INVALID_TAR',
    });
  });
});
