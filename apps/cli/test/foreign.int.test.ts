/**
 * Any architecture, many processes: a big-endian Debian s390x image (busybox-static, cached by mmdebstrap) runs a
 * shell pipeline of its own programs under qemu-user, registered in the container's own binfmt_misc — with no
 * binfmt_misc handler on the host — as root and as uid 65534. (arm64 is in debian.int.test.ts.)
 */
import { chmod, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sandboxedBinfmtSupported } from '@scratchpack/runtime';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { debianRootfs } from './debian-rootfs.ts';
import { cliAs, removeUserDirs, userDirs, users } from './sandbox-helpers.ts';

describeWithTools(
  ['mmdebstrap', 'bwrap', 'setpriv', 'qemu-s390x-static'],
  'a foreign Debian image (s390x) under qemu-user',
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let image: string;

    beforeAll(async () => {
      const tar = await debianRootfs({
        variant: 'extract',
        arch: 's390x',
        include: ['busybox-static', 'base-files'],
      });
      work = await tempDir('debian-s390x-');
      await chmod(work.path, 0o755);
      image = `${join(work.path, 'layout')}:s390x`;
      const r = await cliAs(['import', '--platform', 'linux/s390x', tar, image], { timeout: 600_000 });
      expect(r.status, r.stderr).toBe(0);
    }, 900_000);
    afterAll(async () => {
      await work?.cleanup();
      await removeUserDirs();
    });

    it.each(users)('runs a pipeline of its own programs with no host binfmt_misc (as %s)', async (as) => {
      const dirs = await userDirs(as);
      expect(await readdir('/proc/sys/fs/binfmt_misc').catch((): string[] => [])).not.toContain('qemu-s390x');
      const script =
        '/bin/busybox echo a b c | /bin/busybox wc -w; /bin/busybox sh -c "/bin/busybox uname -m"';
      const r = await cliAs(['run', '--platform', 'linux/s390x', image, '/bin/busybox', 'sh', '-c', script], {
        as,
        dirs,
        timeout: 120_000,
      });
      if (!sandboxedBinfmtSupported()) {
        expect(r.status).toBe(126); // Linux < 6.7: the first program only
        return;
      }
      expect([r.status, r.stderr, r.stdout]).toEqual([0, '', '3\ns390x\n']);
    });
  },
);
