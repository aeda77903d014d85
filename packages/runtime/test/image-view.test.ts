/**
 * The image read through its layer stack before the overlay exists (`ImageView`), as overlayfs merges it, with
 * whiteouts kept as overlayfs reads them (`overlayMarkers`); and `--env-file` as docker reads it.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageView, locate, overlayMarkers, parseEnvFile, resolveUser, topmostOnce } from '../src/index.ts';

describe('ImageView', () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let view: ImageView;
  beforeAll(async () => {
    t = await tempDir('image-view-');
    const [l0, l1, l2] = ['l0', 'l1', 'l2'].map((n) => join(t.path, n)) as [string, string, string];
    // l0: the base; l1 hides /etc/motd, makes /d opaque, replaces /bin with a link; l2 brings a motd back.
    for (const d of ['etc', 'd', 'usr/bin']) await mkdir(join(l0, d), { recursive: true });
    await writeFile(join(l0, 'etc/motd'), 'base');
    await writeFile(join(l0, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:7:8::/home/app:/bin/sh\n');
    await writeFile(join(l0, 'd/old'), 'old');
    await writeFile(join(l0, 'usr/bin/tool'), '', { mode: 0o755 });
    await mkdir(join(l0, 'bin'));
    await writeFile(join(l0, 'bin/gone'), '', { mode: 0o755 });
    for (const d of ['etc', 'd']) await mkdir(join(l1, d), { recursive: true });
    await overlayMarkers.whiteout(join(l1, 'etc/motd'));
    await overlayMarkers.opaque(join(l1, 'd'));
    await writeFile(join(l1, 'd/new'), 'new');
    await symlink('usr/bin', join(l1, 'bin'));
    await mkdir(join(l2, 'etc'), { recursive: true });
    await writeFile(join(l2, 'etc/hostname'), 'h');
    view = new ImageView([l0, l1, l2]);
  });
  afterAll(() => t?.cleanup());

  it('merges as overlayfs does: the topmost entry decides, whiteouts hide, opaque directories stop merging', async () => {
    expect(await view.lstat(['etc', 'motd'])).toBeUndefined();
    expect((await view.find(['etc', 'passwd']))?.host).toBe(join(t.path, 'l0/etc/passwd'));
    expect((await view.find(['etc', 'hostname']))?.host).toBe(join(t.path, 'l2/etc/hostname'));
    expect(await view.lstat(['d', 'old'])).toBeUndefined();
    expect((await view.lstat(['d', 'new']))?.isFile()).toBe(true);
    // /bin is a link in l1 (over l0's directory): it leads to /usr/bin, and l0's /bin/gone is not there.
    expect(await view.resolve('/bin/tool', true)).toBe('/usr/bin/tool');
    expect(await view.host('/bin/gone')).toBeUndefined();
    expect(await locate(view, 'tool', '/', '/bin')).toMatchObject({ status: 'found', path: '/bin/tool' });
    expect(await locate(view, 'gone', '/', '/bin')).toEqual({ status: 'missing' });
    expect(await resolveUser(view, 'app')).toEqual({ uid: 7, gid: 8, home: '/home/app' });
    // Below a file there is nothing.
    expect(await view.lstat(['etc', 'passwd', 'x'])).toBeUndefined();
  });
});

describe('topmostOnce', () => {
  it('keeps a layer the image has twice once, at its topmost place', () => {
    expect(topmostOnce(['/c/a', '/c/b', '/c/a', '/c/c'])).toEqual(['/c/b', '/c/a', '/c/c']);
    expect(topmostOnce(['/c/a'])).toEqual(['/c/a']);
  });
});

describe('parseEnvFile', () => {
  it('reads KEY=VALUE lines as docker: comments and blanks skipped, bare keys from the caller, values verbatim', () => {
    const text = '# comment\n\n  A=1\nB=two words = x \nC\nMISSING\nD=\r\n';
    expect(parseEnvFile(text, 'f.env', { C: 'from-here' })).toEqual([
      'A=1',
      'B=two words = x ',
      'C=from-here',
      'D=',
    ]);
  });

  it('names the file and line of a bad entry', () => {
    expect(() => parseEnvFile('A=1\n=x\n', 'f.env')).toThrow('f.env:2: no variable name before "="');
    expect(() => parseEnvFile('OK=1\n\nMY VAR=1\n', 'f.env')).toThrow(
      'f.env:3: variable name "MY VAR" has whitespace in it',
    );
  });
});
