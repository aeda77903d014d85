/**
 * `run`'s bounds and env files, as root and as an unprivileged user (uid 65534): a gzip bomb layer (3 GiB of zeros
 * in a few MiB) with the store, TMPDIR and the layer cache on a 512 MiB tmpfs fails with a clear error and leaves
 * the free space as it was; `--max-size` bounds a layer the same way; `--env-file` reads docker's format.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, mkdir, readdir, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import {
  appendLayers,
  isImageIndex,
  layerFromCompressedBuffer,
  MediaTypes,
  readLayout,
  sha256,
  writeLayout,
} from '@scratchpack/oci';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, cliAs, NOBODY, removeUserDirs, userDirs, users } from './sandbox-helpers.ts';
import { tarHeader } from './tar-fixtures.ts';

const GiB = 2 ** 30;

/** A gzip layer of one file of `size` zero bytes, made as a stream (nothing that large is ever stored). */
async function bombLayer(size: number) {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (d: Buffer) => parts.push(d));
  const done = new Promise((res) => gzip.on('end', res));
  const hash = createHash('sha256');
  const put = async (b: Buffer) => {
    hash.update(b);
    if (!gzip.write(b)) await new Promise((res) => gzip.once('drain', res));
  };
  await put(tarHeader({ name: 'zeros' }, size));
  const chunk = Buffer.alloc(2 ** 20);
  for (let left = size; left > 0; left -= chunk.length)
    await put(chunk.subarray(0, Math.min(left, chunk.length)));
  await put(Buffer.alloc(1024)); // size is a multiple of 512: no padding, then the end blocks
  gzip.end();
  await done;
  const gz = Buffer.concat(parts);
  return layerFromCompressedBuffer(gz, {
    digest: sha256(gz),
    diffId: `sha256:${hash.digest('hex')}`,
    mediaType: MediaTypes.ociLayerGzip,
  });
}

const isRoot = process.getuid?.() === 0;

describeWithTools(['bwrap', 'busybox', 'setpriv'], 'scratchpack run: bounds and env files', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let image: string;
  let bomb: string;
  let small: string;
  let mounted = false;

  beforeAll(async () => {
    work = await tempDir('run-bounds-');
    image = await busyboxImage(work.path);
    const dir = image.slice(0, image.lastIndexOf(':'));
    const subject = await (await readLayout(dir)).resolve('bb');
    const base = isImageIndex(subject) ? (await subject.images())[0]!.image : subject;
    const layer = await bombLayer(3 * GiB);
    expect(await layer.size()).toBeLessThan(16 * 2 ** 20);
    await writeLayout(dir, await appendLayers(base, { layer }), { tags: ['bomb'] });
    bomb = `${dir}:bomb`;
    small = join(work.path, 'small');
    await mkdir(small);
    if (isRoot) {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512m,mode=0755', 'tmpfs', small]);
      mounted = true;
    }
  }, 300_000);
  afterAll(async () => {
    if (mounted) execFileSync('umount', [small]);
    await work?.cleanup();
    await removeUserDirs();
  });

  describe.each(users)('as %s', (as) => {
    let dirs: { home: string; tmp: string };
    beforeAll(async () => {
      dirs = await userDirs(as);
    });

    it.runIf(isRoot)(
      'a gzip bomb layer on a 512 MiB filesystem fails in seconds, leaving its free space as it was',
      async () => {
        // Store, TMPDIR and layer cache all on the small filesystem.
        const home = join(small, as);
        const own = { home, tmp: join(home, 'tmp') };
        await mkdir(own.tmp, { recursive: true });
        if (as === 'nobody') for (const d of [home, own.tmp]) await chown(d, NOBODY, NOBODY);
        const env = { SCRATCHPACK_STORE: join(home, 'store') };
        const sp = (args: string[]) => cliAs(args, { as, dirs: own, env });
        expect((await sp(['copy', bomb, 'store:bomb'])).status).toBe(0);
        expect((await sp(['run', image, 'echo', 'ok'])).status).toBe(0); // the busybox layer cached, the CLI warm
        const free = async () => (await statfs(small)).bavail;
        const before = await free();
        const r = await sp(['run', 'store:bomb', 'true']);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(
          /error \[OCI_UNPACK_TOO_LARGE\]: layer 1 \(sha256:[0-9a-f]{64}\): unpacks to more than the free space of the filesystem of .*\/layers \(\d+ MiB after a safety margin\); unpacking stopped\nhint: free space there, or point TMPDIR \/ SCRATCHPACK_ROOTFS_CACHE to a larger filesystem/,
        );
        expect(await free()).toBe(before);
        const cache = join(home, 'rootfs-cache');
        expect((await readdir(join(cache, 'layers'))).filter((n) => !/^[0-9a-f]{64}$/.test(n))).toEqual([]);
        expect(await readdir(cache)).toEqual(['layers']);
        expect((await readdir(own.tmp)).filter((n) => n.startsWith('scratchpack-run-'))).toEqual([]);
      },
      300_000,
    );

    it('--max-size stops a layer past it, with the limit and what to do; nothing is left behind', async () => {
      const r = await cliAs(['run', '--max-size', '64k', image, 'true'], { as, dirs });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /error \[OCI_UNPACK_TOO_LARGE\]: layer 0 \(sha256:[0-9a-f]{64}\): unpacks to more than the --max-size limit of 65536 bytes; unpacking stopped\nhint: raise --max-size/,
      );
      expect(await readdir(join(dirs.home, 'rootfs-cache', 'layers'))).toEqual([]);
      const bad = await cliAs(['run', '--max-size', 'lots', image, 'true'], { as, dirs });
      expect([bad.status, bad.stderr]).toEqual([2, expect.stringContaining('invalid size "lots"')]);
    });

    it('--env-file: KEY=VALUE lines, # comments, bare KEY from the caller, -e wins; a bad line names its number', async () => {
      const file = join(dirs.home, 'vars.env');
      await writeFile(file, '# settings\nA=one two\nB\n\nC=from-file\n');
      const r = await cliAs(
        ['run', '--env-file', file, '-e', 'C=from-flag', image, 'sh', '-c', 'echo "$A|$B|$C"'],
        { as, dirs, env: { B: 'caller' } },
      );
      expect([r.status, r.stdout]).toEqual([0, 'one two|caller|from-flag\n']);
      await writeFile(file, 'A=1\nNOT VALID=2\n');
      const bad = await cliAs(['run', '--env-file', file, image, 'true'], { as, dirs });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain(`${file}:2: variable name "NOT VALID" has whitespace in it`);
    });
  });
});
