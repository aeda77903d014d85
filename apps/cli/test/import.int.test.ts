/**
 * `scratchpack import` with a real rootfs: Debian's static busybox plus symlinks and a hardlink, packed by
 * GNU tar, imported (file, gzip on stdin), run by `scratchpack run`; unsafe and broken archives are refused
 * naming the entry and leave the output layout byte for byte as it was.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, link, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  formatPlatform,
  hostPlatform,
  readLayout,
  readTarEntries,
  uncompressed,
  validateLayout,
} from '@scratchpack/oci';
import { describeWithTools, tempDir, toolPath } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pickImage } from '../src/image-ref.ts';
import { cli, cliBin, repoRoot } from './helpers.ts';
import { layoutFingerprint, tarOf } from './tar-fixtures.ts';

describeWithTools(['busybox', 'tar', 'taskset'], 'import a rootfs tarball (busybox-static)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let rootfsTar: string;
  let layout: string;
  const platform = formatPlatform(hostPlatform({ os: 'linux' }));

  beforeAll(async () => {
    work = await tempDir('import-');
    const root = join(work.path, 'rootfs');
    await mkdir(join(root, 'bin'), { recursive: true });
    await mkdir(join(root, 'etc'), { recursive: true });
    await copyFile(toolPath('busybox')!, join(root, 'bin', 'busybox'));
    for (const name of ['sh', 'echo', 'cat', 'ls']) await symlink('busybox', join(root, 'bin', name));
    await link(join(root, 'bin', 'busybox'), join(root, 'bin', 'ash'));
    await writeFile(join(root, 'etc', 'motd'), 'welcome to a scratchpack import\n');
    rootfsTar = join(work.path, 'rootfs.tar');
    execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', rootfsTar, '.']);
    layout = join(work.path, 'out');
  });
  afterAll(() => work?.cleanup());

  it('imports, applies --change, and runs under scratchpack run', async () => {
    const r = await cli([
      'import',
      rootfsTar,
      `${layout}:busybox`,
      '--platform',
      platform,
      '--change',
      'CMD ["/bin/sh", "-c", "echo $GREETING from $(cat etc/motd)"]',
      '--change',
      'ENV GREETING=hello',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tag: 'busybox', platform, entries: 9 });
    expect((await validateLayout(layout, { tag: 'busybox' })).problems).toEqual([]);

    const echo = await cli(['run', `${layout}:busybox`, '--', '/bin/busybox', 'echo', 'hi']);
    expect([echo.status, echo.stdout, echo.stderr]).toEqual([0, 'hi\n', '']);
    // The image root is / in the container, and the working directory (none set) is /.
    const cmd = await cli(['run', `${layout}:busybox`]);
    expect(cmd.stdout).toBe('hello from welcome to a scratchpack import\n');
    const viaLink = await cli(['run', `${layout}:busybox`, '--', '/bin/ash', '-c', 'ls bin | tr "\\n" " "']);
    expect(viaLink.stdout).toBe('ash busybox cat echo ls sh ');

    const info = JSON.parse((await cli(['inspect', `${layout}:busybox`, '--json'])).stdout);
    expect(info.images[0].config.Cmd).toEqual(['/bin/sh', '-c', 'echo $GREETING from $(cat etc/motd)']);
    expect(info.images[0].config.Env).toEqual(['GREETING=hello']);
  });

  it('keeps history like docker import, and is reproducible (stdin + gzip give the same image)', async () => {
    const a = await cli([
      'import',
      rootfsTar,
      `${layout}:a`,
      '--platform',
      platform,
      '-m',
      'rootfs',
      '--json',
    ]);
    const gz = gzipSync(await readFile(rootfsTar));
    const b = await cli(['import', '-', `${layout}:b`, '--platform', platform, '-m', 'rootfs', '--json'], {
      input: gz,
    });
    expect(b.stderr).toBe('');
    expect(JSON.parse(b.stdout).index).toBe(JSON.parse(a.stdout).index);
    const later = await cli(
      ['import', rootfsTar, `${layout}:c`, '--platform', platform, '-m', 'rootfs', '--json'],
      {
        env: { SOURCE_DATE_EPOCH: '1700000000' },
      },
    );
    expect(JSON.parse(later.stdout).index).not.toBe(JSON.parse(a.stdout).index);
    const manifest = JSON.parse(
      await readFile(join(layout, 'blobs', 'sha256', JSON.parse(a.stdout).manifest.slice(7)), 'utf8'),
    );
    const config = JSON.parse(
      await readFile(join(layout, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8'),
    );
    expect(config.history).toEqual([
      { created: '1970-01-01T00:00:00Z', created_by: 'scratchpack import', comment: 'rootfs' },
    ]);
    const plain = await cli(['import', rootfsTar, `${layout}:d`, '--platform', platform, '--json']);
    expect(plain.status).toBe(0);
  });

  it('keeps device nodes, symlinks and modes as entries (in the order of the tar, which is kept)', async () => {
    const tar = tarOf([
      { name: 'dev/', type: 'dir' },
      { name: 'dev/null', type: 'chardev', dev: [1, 3], mode: 0o666 },
      { name: 'bin/su', content: 'su', mode: 0o4755 },
      { name: 'bin/sudo', type: 'symlink', linkname: '/bin/su' },
    ]);
    await writeFile(join(work.path, 'dev.tar'), tar);
    const r = await cli(['import', join(work.path, 'dev.tar'), `${layout}:dev`, '--platform', platform]);
    expect(r.status).toBe(0);
    const index = await (await readLayout(layout)).resolve('dev');
    const [layer] = await (await pickImage(index, platform, 'dev')).image.layers();
    const entries = await readTarEntries(uncompressed(layer!));
    expect(entries).toEqual([
      expect.objectContaining({ path: 'dev', type: 'dir', mode: 0o755 }),
      expect.objectContaining({
        path: 'dev/null',
        type: 'char-device',
        mode: 0o666,
        devmajor: 1,
        devminor: 3,
      }),
      expect.objectContaining({ path: 'bin/su', type: 'file', mode: 0o4755 }),
      expect.objectContaining({ path: 'bin/sudo', type: 'symlink', target: '/bin/su' }),
    ]);
  });

  it.each([
    ['a `..` traversal', tarOf([{ name: 'ok' }, { name: '../x', content: 'x' }]), /unsafe path "\.\.\/x"/],
    [
      'an absolute path',
      tarOf([
        { name: 'etc/', type: 'dir' },
        { name: '/etc/x', content: 'x' },
      ]),
      /unsafe path "\/etc\/x"/,
    ],
    [
      'a hardlink escaping the root',
      tarOf([
        { name: 'a', content: 'a' },
        { name: 'evil', type: 'link', linkname: '../../etc/passwd' },
      ]),
      /evil: unsafe path "\.\.\/\.\.\/etc\/passwd"/,
    ],
    [
      'a hardlink to a file not in the archive',
      tarOf([
        { name: 'a', content: 'a' },
        { name: 'evil', type: 'link', linkname: 'etc/shadow' },
      ]),
      /^error \[OCI_HARDLINK_TARGET_MISSING\]: bad\.tar: hardlink "evil" points at "etc\/shadow", which is not a regular file earlier in the archive\nhint: the archive is incomplete/,
    ],
  ] as const)('refuses %s, names the entry, and leaves the layout untouched', async (_, tar, message) => {
    const before = await layoutFingerprint(layout);
    const bad = join(work.path, 'bad.tar');
    await writeFile(bad, tar);
    const r = await cli(['import', bad, `${layout}:busybox`, '--platform', platform]);
    expect(r.status).toBe(1);
    if (!message.source.includes('HARDLINK'))
      expect(r.stderr).toMatch(/^error \[OCI_UNSAFE_PATH\]: bad\.tar: /);
    expect(r.stderr).toMatch(message);
    expect(await layoutFingerprint(layout)).toBe(before);
  });

  it('refuses truncated and non-tar input (plain, gzip, cut at an entry boundary) and writes nothing', async () => {
    const before = await layoutFingerprint(layout);
    const whole = await readFile(rootfsTar);
    const noEnd = tarOf([{ name: 'a', content: 'a' }], { end: false });
    for (const [name, bytes, message] of [
      [
        'cut.tar',
        whole.subarray(0, 600_000),
        /not a valid tar: Unexpected end of data \(at entry "\.\/bin\/(ash|busybox)"\)/,
      ],
      [
        'cut.tar.gz',
        gzipSync(whole).subarray(0, 300_000),
        /cut\.tar\.gz is not a valid tar: unexpected end of file/,
      ],
      ['noend.tar', noEnd, /noend\.tar ends without the end-of-archive marker/],
      [
        'junk.tar',
        Buffer.from('this is not a tar archive\n'.repeat(40)),
        /junk\.tar is not a valid tar: Invalid tar header/,
      ],
      ['empty.tar', Buffer.alloc(0), /empty\.tar is empty, not a tar archive/],
    ] as const) {
      await writeFile(join(work.path, name), bytes);
      const r = await cli(['import', join(work.path, name), `${layout}:busybox`, '--platform', platform]);
      expect(r.status, name).toBe(1);
      expect(r.stderr).toMatch(/^error \[OCI_INVALID_TAR\]/);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/hint: /);
    }
    const fresh = join(work.path, 'never-written');
    const r = await cli(['import', join(work.path, 'junk.tar'), `${fresh}:x`, '--platform', platform]);
    expect(r.status).toBe(1);
    await expect(readFile(join(fresh, 'index.json'))).rejects.toThrow(/ENOENT/);
    expect(await layoutFingerprint(layout)).toBe(before);
  });

  it('--compression-level: the same tar (diff_id), other gzip bytes, the same bytes on one CPU; a bad level is refused', async () => {
    const diffIdOf = async (tag: string) => {
      const index = await (await readLayout(layout)).resolve(tag);
      const [layer] = await (await pickImage(index, platform, tag)).image.layers();
      return [(await layer!.diffId()).toString(), (await layer!.digest()).toString()] as const;
    };
    const runs = [
      ['def', []],
      ['l6', ['--compression-level', '6']],
      ['l9', ['--compression-level', '9']],
      ['l1', ['--compression-level', '1']],
    ] as const;
    for (const [tag, flags] of runs) {
      const r = await cli(['import', rootfsTar, `${layout}:${tag}`, '--platform', platform, ...flags]);
      expect([r.status, r.stderr]).toEqual([0, '']);
    }
    // The same import pinned to one CPU with one libuv thread: gzip's bytes do not depend on the cores.
    const pinned = spawnSync(
      'taskset',
      ['-c', '0', process.execPath, cliBin, 'import', rootfsTar, `${layout}:one-cpu`, '--platform', platform],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, UV_THREADPOOL_SIZE: '1' } },
    );
    expect([pinned.status, pinned.stderr]).toEqual([0, '']);
    const [def, l6, l9, l1, oneCpu] = [
      await diffIdOf('def'),
      await diffIdOf('l6'),
      await diffIdOf('l9'),
      await diffIdOf('l1'),
      await diffIdOf('one-cpu'),
    ];
    expect(def).toEqual(l6); // the default is level 6, as docker import writes
    expect(oneCpu).toEqual(l6);
    expect(l6[0]).toBe(l9[0]);
    expect(l1[0]).toBe(l9[0]);
    expect(new Set([l9[1], l6[1], l1[1]]).size).toBe(3);
    const before = await layoutFingerprint(layout);
    const bad = await cli(['import', rootfsTar, `${layout}:x`, '--compression-level', '11']);
    expect([bad.status, bad.stderr]).toEqual([
      2,
      expect.stringMatching(/--compression-level 11: expected a gzip level from 0 to 9/),
    ]);
    expect(await layoutFingerprint(layout)).toBe(before);
  });

  it('refuses bad platforms and non-config changes before reading anything', async () => {
    const before = await layoutFingerprint(layout);
    const plat = await cli(['import', rootfsTar, `${layout}:x`, '--platform', 'linux/pdp11']);
    expect([plat.status, plat.stderr]).toEqual([2, expect.stringMatching(/unknown architecture pdp11/)]);
    const change = await cli(['import', rootfsTar, `${layout}:x`, '--change', 'RUN echo']);
    expect(change.status).toBe(1);
    expect(change.stderr).toMatch(/--change:1:1: RUN: RUN cannot be applied as a change/);
    const missing = await cli(['import', join(work.path, 'nope.tar'), `${layout}:x`]);
    expect([missing.status, missing.stderr]).toEqual([
      2,
      expect.stringMatching(/cannot read .*nope\.tar: ENOENT/),
    ]);
    expect(await layoutFingerprint(layout)).toBe(before);
  });
});
