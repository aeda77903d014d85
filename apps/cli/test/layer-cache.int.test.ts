/**
 * `run`'s layer cache, as root and as an unprivileged user (uid 65534): each layer is unpacked once into an entry
 * named by its diff_id and shared by the images that have it; a container is an overlay of its image's entries in
 * order, where an upper layer's whiteouts hide names of the layers below and an opaque directory hides their
 * contents; `rmi` and `gc` remove the entries no stored image uses, never those of a running container.
 */
import type { ChildProcess } from 'node:child_process';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  appendLayers,
  isImageIndex,
  layerFromCompressedBuffer,
  MediaTypes,
  readLayout,
  sha256,
  writeLayout,
} from '@scratchpack/oci';
import { isOpaque, isWhiteout } from '@scratchpack/runtime';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, cliAs, removeUserDirs, userDirs, users } from './sandbox-helpers.ts';
import { type TarSpec, tarOf } from './tar-fixtures.ts';

/** The busybox image at `ref` (layout:tag) with `layers` on top, written to the same layout as `tag`. */
async function derive(ref: string, tag: string, layers: TarSpec[][]): Promise<string> {
  const [dir, from] = [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
  const subject = await (await readLayout(dir)).resolve(from);
  const base = isImageIndex(subject) ? (await subject.images())[0]!.image : subject;
  const adds = layers.map((entries) => {
    const tar = tarOf(entries);
    const gz = gzipSync(tar);
    const layer = layerFromCompressedBuffer(gz, {
      digest: sha256(gz),
      diffId: sha256(tar),
      mediaType: MediaTypes.ociLayerGzip,
    });
    return { layer };
  });
  await writeLayout(dir, await appendLayers(base, ...adds), { tags: [tag] });
  return `${dir}:${tag}`;
}

const HEX = /^[0-9a-f]{64}$/;

describeWithTools(['bwrap', 'busybox', 'setpriv'], 'scratchpack run: the layer cache', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let image: string;
  let hiding: string;
  let other: string;
  let twice: string;

  beforeAll(async () => {
    work = await tempDir('layer-cache-');
    image = await busyboxImage(work.path);
    // Whiteouts over the busybox layer: /etc/motd and /bin/cat hidden, /ro made opaque (its file hidden, a new
    // one shown), and a second layer bringing /etc/motd back.
    hiding = await derive(image, 'hiding', [
      [
        { name: 'etc/.wh.motd' },
        { name: 'bin/.wh.cat' },
        { name: 'ro/', type: 'dir', mode: 0o755 },
        { name: 'ro/.wh..wh..opq' },
        { name: 'ro/new', content: 'new\n' },
        { name: 'etc/added', content: 'added\n' },
      ],
      [{ name: 'etc/motd', content: 'back\n' }],
    ]);
    other = await derive(image, 'other', [[{ name: 'etc/other', content: 'other\n' }]]);
    // A, B (hides A's file), A again: the file shows.
    const a = [{ name: 'etc/twice', content: 'a\n' }];
    twice = await derive(image, 'twice', [a, [{ name: 'etc/.wh.twice' }], a]);
  });
  afterAll(async () => {
    await work?.cleanup();
    await removeUserDirs();
  });

  describe.each(users)('as %s', (as) => {
    let dirs: { home: string; tmp: string };
    let env: NodeJS.ProcessEnv;
    let layers: string;
    const sp = (args: string[], o: Parameters<typeof cliAs>[1] = {}) => cliAs(args, { as, dirs, env, ...o });
    beforeAll(async () => {
      dirs = await userDirs(as);
      const cache = join(dirs.home, 'cache');
      layers = join(cache, 'layers');
      env = { SCRATCHPACK_ROOTFS_CACHE: cache, SCRATCHPACK_STORE: join(dirs.home, 'store') };
    });

    it('whiteouts and opaque directories of upper layers hide what the layers below have', async () => {
      const r = await sp([
        'run',
        hiding,
        'sh',
        '-c',
        'cat /etc/motd /etc/added; ls /ro; test -e /bin/cat || echo no-cat; test -e /ro/file || echo no-ro-file; grep -c " / overlay " /proc/mounts',
      ]);
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toBe('back\nadded\nnew\nno-cat\nno-ro-file\n1\n');
      const entries = (await readdir(layers)).filter((n) => HEX.test(n));
      expect(entries).toHaveLength(3);
      // Kept the way overlayfs reads them: a 0/0 character device, an opaque directory's xattr.
      const marks = await Promise.all(
        entries.map((e) => lstat(join(layers, e, 'bin', 'cat')).catch(() => undefined)),
      );
      const whiteouts = marks.filter((m) => m && isWhiteout(m));
      expect(whiteouts).toHaveLength(1);
      const opaque = await Promise.all(entries.map((e) => isOpaque(join(layers, e, 'ro'))));
      expect(opaque.filter(Boolean)).toHaveLength(1);
      // Changes go to the container's own upper directory, never to a cached layer.
      const w = await sp(['run', hiding, 'sh', '-c', 'rm /etc/added && echo x > /ro/new && cat /ro/new']);
      expect([w.status, w.stdout]).toEqual([0, 'x\n']);
      expect((await sp(['run', hiding, 'sh', '-c', 'cat /etc/added /ro/new'])).stdout).toBe('added\nnew\n');
    });

    it('shares the layers images have in common: each is unpacked once', async () => {
      const before = (await readdir(layers)).filter((n) => HEX.test(n));
      const inodes = new Map(
        await Promise.all(before.map(async (e) => [e, (await stat(join(layers, e))).ino] as const)),
      );
      const r = await sp(['run', other, 'cat', '/etc/other', '/etc/motd']);
      expect([r.status, r.stdout]).toEqual([0, 'other\none\ntwo\n']);
      const after = (await readdir(layers)).filter((n) => HEX.test(n));
      expect(after).toHaveLength(before.length + 1); // only the new top layer
      for (const [e, ino] of inodes) expect((await stat(join(layers, e))).ino).toBe(ino);
    });

    it('rmi and gc remove the layers no stored image uses, never those of a running container', async () => {
      for (const [from, name] of [
        [image, 'bb'],
        [hiding, 'hiding'],
      ] as const)
        expect((await sp(['copy', from, `store:${name}`])).status).toBe(0);
      // Nothing in the store uses `other`'s top layer; its running container keeps it.
      let child: ChildProcess | undefined;
      const running = sp(['run', other, 'sh', '-c', 'echo ready; sleep 30'], { onSpawn: (c) => (child = c) });
      await new Promise<void>((res) =>
        child!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && res()),
      );
      const all = (await readdir(layers)).filter((n) => HEX.test(n));
      const kept = await sp(['gc', '--json']);
      expect(kept.status, kept.stderr).toBe(0);
      expect(JSON.parse(kept.stdout).layers).toEqual({ removed: 0, inUse: 1 });
      expect((await readdir(layers)).filter((n) => HEX.test(n))).toEqual(all);
      process.kill(child!.pid!, 'SIGKILL');
      await running;
      const gc = await sp(['gc']);
      expect(gc.stdout).toContain('deleted 1 unpacked layers');
      expect((await readdir(layers)).filter((n) => HEX.test(n))).toHaveLength(3);
      // The last image using the two whiteout layers goes: they go; the busybox layer stays for bb.
      const rmi = await sp(['rmi', 'hiding', '--json']);
      expect(JSON.parse(rmi.stdout).layers).toEqual({ removed: 2, inUse: 0 });
      const left = (await readdir(layers)).filter((n) => HEX.test(n));
      expect(left).toHaveLength(1);
      expect((await sp(['run', 'store:bb', 'cat', '/etc/motd'])).stdout).toBe('one\ntwo\n');
      expect((await sp(['rmi', 'bb'])).stdout).toContain('deleted 1 unpacked layers');
      expect((await readdir(layers)).filter((n) => HEX.test(n))).toEqual([]);
    });

    it('runs an image that has a layer twice (overlayfs refuses a directory twice in its stack)', async () => {
      const r = await sp(['run', twice, 'cat', '/etc/twice']);
      expect([r.status, r.stdout, r.stderr]).toEqual([0, 'a\n', '']);
      expect((await readdir(layers)).filter((n) => HEX.test(n))).toHaveLength(3); // busybox, A, B
    });
  });
});
