/**
 * `scratchpack run` is a container (bubblewrap): a busybox-static image sees only its own files, gets
 * /proc, a minimal /dev, a tmpfs /tmp, its own hostname and no network; docker-run flags and exit codes
 * behave as Docker's; signals reach the program; the private rootfs is always removed. The same checks
 * run as root and as an unprivileged user (uid 65534). Where user namespaces are unavailable, run fails
 * with what to enable and never runs the program on the host.
 */
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, canSwitchUser, cliAs, removeUserDirs, userDirs, users } from './sandbox-helpers.ts';

describeWithTools(
  ['bwrap', 'busybox', 'setpriv', 'unshare'],
  'scratchpack run: a container (bubblewrap)',
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let image: string;
    let hostOnly: string;
    let shared: string;

    beforeAll(async () => {
      work = await tempDir('sandbox-');
      image = await busyboxImage(work.path);
      hostOnly = join(work.path, 'host-only');
      await writeFile(hostOnly, 'secret of the host\n');
      shared = join(work.path, 'shared');
      await mkdir(shared);
      await writeFile(join(shared, 'in'), 'from the host\n');
      await chmod(shared, 0o777);
    });
    afterAll(async () => {
      await work?.cleanup();
      await removeUserDirs();
    });

    describe.each(users)('as %s', (as) => {
      let dirs: { home: string; tmp: string };
      const run = (args: string[], o: Parameters<typeof cliAs>[1] = {}) =>
        cliAs(['run', ...args], { as, dirs, ...o });
      beforeAll(async () => {
        dirs = await userDirs(as);
      });

      it('shows the image only: no host files, its own /proc, /dev, tmpfs /tmp, hostname, no network', async () => {
        const script = [
          `test -e ${hostOnly} && echo host-visible || echo host-hidden`,
          'ls /',
          'ls /dev',
          'grep " /tmp " /proc/mounts',
          'cat /proc/1/cmdline | tr "\\0" " "; echo',
          'cat /proc/net/dev | grep -c :',
          'hostname',
        ].join('; ');
        const r = await run(['--hostname', 'box1', image, 'sh', '-c', script]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        const lines = r.stdout.split('\n');
        expect(lines[0]).toBe('host-hidden');
        expect(r.stdout).toMatch(/^bin\ndev\netc\nproc\nro\ntmp\n/m);
        for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'shm', 'pts'])
          expect(r.stdout).toContain(`\n${d}\n`);
        expect(r.stdout).toMatch(/^tmpfs \/tmp tmpfs/m);
        expect(r.stdout).toContain('sh -c test -e'); // the program is PID 1 of its own namespace
        expect(r.stdout).toMatch(/\n1\nbox1\n$/); // only the loopback interface
        const noDns = await run([image, 'cat', '/etc/resolv.conf']);
        expect(noDns.status).toBe(1); // the image has none, and the host's is not shown
        const dns = await run(['--network', 'host', image, 'cat', '/etc/resolv.conf', '/etc/hosts']);
        expect(dns.stdout).toBe(
          (await readFile('/etc/resolv.conf', 'utf8')) + (await readFile('/etc/hosts', 'utf8')),
        );
        const hostNet = await run(['--network', 'host', image, 'sh', '-c', 'cat /proc/net/dev | grep -c :']);
        expect(Number(hostNet.stdout)).toBe(
          (await readFile('/proc/net/dev', 'utf8')).split('\n').filter((l) => l.includes(':')).length,
        );
      });

      it('runs Docker-style: Cmd and Env, options after the image go to the program, -e, -w, -u, stdin', async () => {
        expect((await run([image])).stdout).toBe('hello from busybox\n');
        expect((await run(['-e', 'WHO=flag', image])).stdout).toBe('hello from flag\n');
        const n = await run([image, 'cat', '-n', '/etc/motd']);
        expect(n.stdout).toBe('     1\tone\n     2\ttwo\n');
        expect((await run([image, '--', 'echo', '-n', 'x'])).stdout).toBe('x');
        const w = await run(['-w', '/etc', '-e', 'A=1', image, 'sh', '-c', 'echo $A $(pwd) $HOME']);
        expect(w.stdout).toBe('1 /etc /root\n');
        expect((await run(['-u', 'app', image, 'sh', '-c', 'id; echo $HOME'])).stdout).toBe(
          'uid=1000(app) gid=1000(app)\n/home/app\n',
        );
        expect((await run(['-u', '1000:staff', image, 'id', '-g'])).stdout).toBe('50\n');
        expect((await run([image, 'cat'], { input: 'through stdin\n' })).stdout).toBe('through stdin\n');
        const badUser = await run(['-u', 'nobody', image, 'id']);
        expect([badUser.status, badUser.stderr]).toEqual([
          2,
          expect.stringContaining('unable to find user nobody'),
        ]);
      });

      it('binds volumes (read-only or not) and makes the root read-only on request', async () => {
        const r = await run([
          '-v',
          `${shared}:/data`,
          '-v',
          `${join(shared, 'in')}:/etc/in:ro`,
          '--read-only',
          image,
          'sh',
          '-c',
          `cat /etc/in; echo out > /data/out-${as}; touch /etc/in 2>/dev/null || echo in-ro; touch /new 2>/dev/null || echo root-ro; touch /tmp/ok && echo tmp-rw`,
        ]);
        expect(r.stdout).toBe('from the host\nin-ro\nroot-ro\ntmp-rw\n');
        expect(await readFile(join(shared, `out-${as}`), 'utf8')).toBe('out\n');
      });

      it("exits with the program's code, 127 when it is not in the image, 126 when not executable", async () => {
        expect((await run([image, 'sh', '-c', 'exit 7'])).status).toBe(7);
        const missing = await run([image, 'nothere']);
        expect([missing.status, missing.stderr]).toEqual([
          127,
          expect.stringMatching(/nothere: not found in the image/),
        ]);
        const noExec = await run([image, '/bin/data']);
        expect([noExec.status, noExec.stderr]).toEqual([126, expect.stringMatching(/not executable/)]);
      });

      it('forwards SIGTERM to the program, a second signal kills it (128+9), and the rootfs is removed', async () => {
        let child: ChildProcess | undefined;
        const script = 'trap "echo got-term; exit 3" TERM; echo ready; sleep 30 & wait';
        const p = run([image, 'sh', '-c', script], { onSpawn: (c) => (child = c) });
        const ready = () =>
          new Promise<void>((res) =>
            child!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && res()),
          );
        await ready();
        child!.kill('SIGTERM');
        const r = await p;
        expect([r.status, r.stdout]).toEqual([3, 'ready\ngot-term\n']);
        const p2 = run([image, 'sh', '-c', 'echo ready; sleep 30'], { onSpawn: (c) => (child = c) });
        await ready();
        child!.kill('SIGTERM'); // PID 1 without a handler ignores it, as under Docker
        await new Promise((res) => setTimeout(res, 300));
        child!.kill('SIGTERM');
        expect((await p2).status).toBe(137);
        expect((await readdir(dirs.tmp)).filter((n) => n.startsWith('scratchpack-run-'))).toEqual([]);
      });

      it('without user namespaces it fails saying what to enable, and never runs on the host', async () => {
        const marker = join(dirs.tmp, 'ran-on-host');
        // A user namespace that may not create further ones (max_user_namespaces=0 inside it).
        const wrap = (argv: string[]) => [
          'unshare',
          '--user',
          '--map-root-user',
          'sh',
          '-c',
          'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"',
          'sh',
          ...argv,
        ];
        const r = await run([image, 'touch', marker], { wrap });
        expect(r.status).toBe(1);
        if (as === 'root') {
          // Root there is host root with only uid 0 mapped: no unprivileged user to run the container as.
          expect(r.stderr).toMatch(/SANDBOX_UNAVAILABLE.*nobody\) is not mapped in this user namespace/);
        } else {
          expect(r.stderr).toMatch(/SANDBOX_UNAVAILABLE.*user namespaces/);
          expect(r.stderr).toMatch(/hint: .*user\.max_user_namespaces/);
        }
        expect(await readdir(dirs.tmp)).not.toContain('ran-on-host');
      });
    });

    it('--no-sandbox runs on the host (and says so); a missing bwrap is a clear error naming the package', async () => {
      const r = await cliAs(['run', '--no-sandbox', image, '/bin/cat', hostOnly]);
      expect(r.stdout).toBe('secret of the host\n');
      expect(r.stderr).toMatch(/--no-sandbox: .*unconfined/);
      const noBwrap = await cliAs(['run', image], { env: { PATH: '/nonexistent' } });
      expect(noBwrap.status).toBe(1);
      expect(noBwrap.stderr).toMatch(/BWRAP_MISSING.*bwrap/);
      expect(noBwrap.stderr).toMatch(/apt-get install bubblewrap/);
    });

    it.runIf(canSwitchUser)(
      'as root, a TMPDIR the container user cannot reach: the run goes under /tmp, said once',
      async () => {
        const closed = join(work.path, 'closed');
        await mkdir(join(closed, 'tmp'), { recursive: true });
        await chmod(closed, 0o700);
        const dirs = { home: closed, tmp: join(closed, 'tmp') };
        const cacheClosed = await cliAs(['run', '--rm', image, 'true'], { dirs });
        expect(cacheClosed.status).toBe(2);
        expect(cacheClosed.stderr).toContain(`cannot reach the layer cache ${join(closed, 'rootfs-cache')}`);
        const env = { SCRATCHPACK_ROOTFS_CACHE: join(work.path, 'open-cache') };
        const r = await cliAs(['run', '--rm', image, '/bin/sh', '-c', 'echo inside'], { dirs, env });
        expect(r.stderr).toContain(`note: ${closed} is not searchable by uid 65534`);
        expect(r.stdout).toBe('inside\n');
        expect(r.status).toBe(0);
        expect((await readdir(join(closed, 'tmp'))).filter((f) => f.startsWith('scratchpack-run-'))).toEqual(
          [],
        );
      },
    );

    it.runIf(canSwitchUser)(
      'as nobody, a layer blob only root may read: the error is EACCES naming the blob, not a bad tar',
      async () => {
        const blobs = join(image.slice(0, image.lastIndexOf(':')), 'blobs', 'sha256');
        const sizes = await Promise.all(
          (await readdir(blobs)).map(async (n) => ({ n, size: (await stat(join(blobs, n))).size })),
        );
        const layer = join(blobs, sizes.sort((a, b) => b.size - a.size)[0]!.n); // the busybox layer
        await chmod(layer, 0o600);
        try {
          const r = await cliAs(['run', '--rm', image, 'true'], {
            as: 'nobody',
            dirs: await userDirs('nobody'),
          });
          expect(r.status).toBe(1);
          expect(r.stderr).toContain(`error [EACCES]: open ${layer}: permission denied`);
          expect(r.stderr).not.toMatch(/INVALID_TAR|truncated/);
        } finally {
          await chmod(layer, 0o644);
        }
      },
    );

    it('--rootfs refuses a non-empty directory and leaves it as it was', async () => {
      const dir = join(work.path, 'kept');
      await mkdir(dir);
      await writeFile(join(dir, 'mine'), 'm');
      const r = await cliAs(['run', '--rootfs', dir, image, 'true']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/OCI_ROOTFS_NOT_EMPTY/);
      expect(await readdir(dir)).toEqual(['mine']);
    });
  },
);
