/**
 * `scratchpack run` holds podman's floor, invoked as root and as an unprivileged user (uid 65534): container root
 * has Docker's capabilities (no CAP_SYS_ADMIN), no_new_privs and the default seccomp filter; /proc/sys and friends
 * are read-only, /proc/keys and friends masked; `:ro` volumes and `--read-only` stay read-only after remount
 * attempts; as root, container root is the host's nobody, never host uid 0. It also gets /etc/hosts and
 * /etc/hostname, and the private directories of a CLI killed with SIGKILL are swept by the next run.
 */
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, cliAs, NOBODY, removeUserDirs, userDirs, users } from './sandbox-helpers.ts';

const CAP_SYS_ADMIN = 21n;

describeWithTools(['bwrap', 'busybox', 'setpriv'], 'scratchpack run: hardened as podman', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let image: string;
  let shared: string;

  beforeAll(async () => {
    work = await tempDir('hardening-');
    image = await busyboxImage(work.path);
    shared = join(work.path, 'shared');
    await mkdir(shared);
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

    it('container root: no CAP_SYS_ADMIN, no_new_privs, seccomp, /proc/sys read-only, /proc/keys masked', async () => {
      const before = await readFile('/proc/sys/kernel/core_pattern', 'utf8');
      const script = [
        'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status',
        'echo "|/tmp/x" > /proc/sys/kernel/core_pattern && echo wrote-core-pattern',
        'echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo wrote-sysrq',
        'cat /proc/keys 2>/dev/null | grep -c . || true',
        'id -u',
      ].join('; ');
      const r = await run([image, 'sh', '-c', script]);
      expect(r.status).toBe(0);
      const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)$`, 'm').exec(r.stdout)?.[1];
      const capEff = BigInt(`0x${field('CapEff')}`);
      expect(capEff).not.toBe(0n); // root keeps Docker's set (CHOWN, KILL, …)
      expect((capEff >> CAP_SYS_ADMIN) & 1n).toBe(0n);
      expect((BigInt(`0x${field('CapBnd')}`) >> CAP_SYS_ADMIN) & 1n).toBe(0n);
      expect(field('NoNewPrivs')).toBe('1');
      expect(field('Seccomp')).toBe('2'); // a filter
      expect(r.stdout).not.toContain('wrote-');
      expect(r.stderr).toMatch(/core_pattern: Read-only file system/);
      expect(r.stdout).toMatch(/^0\n0\n$/m); // /proc/keys shows nothing; the user is container root
      expect(await readFile('/proc/sys/kernel/core_pattern', 'utf8')).toBe(before);
      // Another user gets no capabilities at all, as under Docker.
      const app = await run(['-u', '1000', image, 'grep', 'CapEff', '/proc/self/status']);
      expect(app.stdout).toBe('CapEff:\t0000000000000000\n');
    });

    it('seccomp refuses mount and new user namespaces with EPERM, even with --cap-add SYS_ADMIN', async () => {
      const r = await run([
        '--cap-add',
        'SYS_ADMIN',
        image,
        'sh',
        '-c',
        'grep CapEff /proc/self/status; mount -t tmpfs none /tmp; unshare -U true; echo done',
      ]);
      const capEff = BigInt(`0x${/CapEff:\s*(\S+)/.exec(r.stdout)![1]}`);
      expect((capEff >> CAP_SYS_ADMIN) & 1n).toBe(1n); // the capability is there: only seccomp refuses
      expect(r.stderr).toMatch(/mount: .*(Operation not permitted|permission denied)/i);
      expect(r.stderr).toMatch(/unshare: .*Operation not permitted/);
      expect(r.stdout).toMatch(/done\n$/);
      const bad = await run(['--cap-add', 'NOT_A_CAP', image, 'true']);
      expect([bad.status, bad.stderr]).toEqual([2, expect.stringMatching(/unknown capability "NOT_A_CAP"/)]);
    });

    it(':ro volumes and --read-only stay read-only after remount attempts', async () => {
      const script = [
        'mount -o remount,rw /data 2>/dev/null; mount -o remount,bind,rw /data 2>/dev/null',
        'mount -o remount,rw / 2>/dev/null',
        'touch /data/x 2>/dev/null && echo data-writable || echo data-ro',
        'touch /y 2>/dev/null && echo root-writable || echo root-ro',
      ].join('; ');
      const r = await run(['-v', `${shared}:/data:ro`, '--read-only', image, 'sh', '-c', script]);
      expect(r.stdout).toBe('data-ro\nroot-ro\n');
      expect(await readdir(shared)).not.toContain('x');
    });

    it('container root is an unprivileged host user; /etc/hosts and /etc/hostname are there', async () => {
      const r = await run([
        '--hostname',
        'box7',
        '-v',
        `${shared}:/data`,
        image,
        'sh',
        '-c',
        `touch /data/by-${as}; cat /etc/hostname /etc/hosts`,
      ]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(
        'box7\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tbox7\n',
      );
      expect((await stat(join(shared, `by-${as}`))).uid).toBe(NOBODY);
    });

    it('unpacks an image once: later runs reuse the cache under an overlay, changes go to a private upper', async () => {
      const cache = join(dirs.home, `rootfs-cache-${as}`);
      const env = { SCRATCHPACK_ROOTFS_CACHE: cache };
      const first = await run([image, 'sh', '-c', 'echo changed > /etc/motd; cat /etc/motd'], { env });
      expect([first.status, first.stdout]).toEqual([0, 'changed\n']);
      // One layer, one entry named by its diff_id.
      const entries = await readdir(join(cache, 'layers'));
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatch(/^[0-9a-f]{64}$/);
      const entry = join(cache, 'layers', entries[0]!);
      expect(await readFile(join(entry, 'etc', 'motd'), 'utf8')).toBe('one\ntwo\n');
      const inode = (await stat(entry)).ino;
      const second = await run([image, 'sh', '-c', 'cat /etc/motd; grep -c " / overlay " /proc/mounts'], {
        env,
      });
      expect(second.stdout).toBe('one\ntwo\n1\n');
      expect((await stat(entry)).ino).toBe(inode); // the same entry, not unpacked again
      expect(await readdir(join(cache, 'layers'))).toEqual(entries);
      expect(await readdir(cache)).toEqual(['layers']); // the container's lease went with it
      expect((await readdir(dirs.tmp)).filter((n) => n.startsWith('scratchpack-run-'))).toEqual([]);
    });

    it('a CLI killed with SIGKILL leaves its directory, and the next run sweeps it', async () => {
      let child: ChildProcess | undefined;
      const p = run([image, 'sh', '-c', 'echo ready; sleep 30'], { onSpawn: (c) => (child = c) });
      await new Promise<void>((res) =>
        child!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && res()),
      );
      const left = (await readdir(dirs.tmp)).filter((n) => n.startsWith('scratchpack-run-'));
      expect(left).toHaveLength(1);
      // setpriv execs the CLI: the pid is the CLI's own.
      process.kill(child!.pid!, 'SIGKILL');
      await p;
      expect(await readdir(dirs.tmp)).toContain(left[0]);
      // A live process's directory is not touched.
      const live = join(dirs.tmp, `scratchpack-run-${process.pid}-live`);
      await mkdir(live);
      await writeFile(join(live, 'f'), '');
      const r = await run([image, 'echo', 'ok']);
      expect(r.status).toBe(0);
      expect((await readdir(dirs.tmp)).filter((n) => n.startsWith('scratchpack-run-'))).toEqual([
        `scratchpack-run-${process.pid}-live`,
      ]);
    });
  });
});
