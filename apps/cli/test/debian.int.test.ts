/**
 * The seed's full-image path end to end: a real Debian bookworm rootfs (mmdebstrap, cached between runs)
 * is imported from standard input, run by `scratchpack run` (the image's /etc/debian_version, never the
 * host's files; as root and as uid 65534), run by podman as an independent engine, pushed to a real registry
 * and pulled back with identical digests. A foreign one (arm64, busybox-static) runs under qemu-user
 * inside the sandbox.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { chmod, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithTools, type RunningRegistry, startRegistry, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianRootfs } from './debian-rootfs.ts';
import { type As, canSwitchUser, cliAs, removeUserDirs, userDirs } from './sandbox-helpers.ts';

const fromTar = (tar: string, path: string) => execFileSync('tar', ['-xOf', tar, path], { encoding: 'utf8' });
const users: As[] = canSwitchUser ? ['root', 'nobody'] : ['root'];

describeWithTools(
  ['mmdebstrap', 'bwrap', 'setpriv', 'tar'],
  'a full Debian image from a distribution',
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let tar: string;
    let layout: string;
    let hostOnly: string;

    beforeAll(async () => {
      tar = await debianRootfs({ variant: 'minbase', arch: 'amd64' });
      work = await tempDir('debian-');
      await chmod(work.path, 0o755);
      layout = join(work.path, 'layout');
      hostOnly = join(work.path, 'host-only-probe');
      await writeFile(hostOnly, 'only on the host\n');
    }, 900_000);
    afterAll(async () => {
      await work?.cleanup();
      await removeUserDirs();
    });

    it('imports the rootfs from standard input (tar … | scratchpack import - …)', async () => {
      const r = await cliAs(['import', '-', `${layout}:bookworm`, '--json'], {
        stdinFile: tar,
        timeout: 600_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ tag: 'bookworm', platform: 'linux/amd64' });
    });

    it('imports the same tar given as a file (bodies read in place) to the same digests', async () => {
      const other = join(work.path, 'layout-twice');
      const same = ['-m', 'Imported from rootfs.tar', '--json'];
      const fromStdin = cliAs(['import', '-', `${other}:stdin`, ...same], {
        stdinFile: tar,
        timeout: 600_000,
      });
      const fromFile = cliAs(['import', tar, `${other}:file`, ...same], { timeout: 600_000 });
      const [a, b] = await Promise.all([fromStdin, fromFile]);
      expect([a.status, b.status, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
      const digests = (out: string) => {
        const { index, manifest, layer } = JSON.parse(out) as Record<string, string>;
        return { index, manifest, layer };
      };
      expect(digests(b.stdout).layer).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(digests(b.stdout)).toEqual(digests(a.stdout));
    });

    describe.each(users)('scratchpack run as %s', (as) => {
      it("shows the image's files, never the host's", async () => {
        const dirs = await userDirs(as);
        const script = `cat /etc/debian_version; test -e ${hostOnly} && echo probe-visible || echo probe-hidden; test -e /work && echo host-root || echo own-root; id -u`;
        const r = await cliAs(['run', `${layout}:bookworm`, 'sh', '-c', script], {
          as,
          dirs,
          timeout: 600_000,
        });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout).toBe(`${fromTar(tar, './etc/debian_version')}probe-hidden\nown-root\n0\n`);
        expect((await readdir(dirs.tmp)).filter((n) => n.startsWith('scratchpack-run-'))).toEqual([]);
      });
    });

    it('Ctrl-C while the rootfs is unpacked removes it and exits 130', async () => {
      const dirs = await userDirs('root');
      let child: ChildProcess | undefined;
      const p = cliAs(['run', `${layout}:bookworm`, 'true'], { dirs, onSpawn: (c) => (child = c) });
      // Wait until unpacking is under way (usr/ exists in the private rootfs), then interrupt.
      for (let i = 0; i < 600; i++) {
        const runs = (await readdir(dirs.tmp)).filter((n) => n.startsWith('scratchpack-run-'));
        const started =
          runs.length > 0 &&
          (await readdir(join(dirs.tmp, runs[0]!, 'rootfs')).catch((): string[] => [])).includes('usr');
        if (started) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      child!.kill('SIGINT');
      const r = await p;
      expect(r.status).toBe(130);
      expect((await readdir(dirs.tmp)).filter((n) => n.startsWith('scratchpack-run-'))).toEqual([]);
    });

    describeWithTools(['podman', 'runc'], 'podman', () => {
      it('runs the same image (an OCI archive) as an independent engine', async () => {
        const archive = join(work.path, 'bookworm.oci.tar');
        execFileSync('tar', ['-C', layout, '-cf', archive, '.']);
        const store = [
          '--root',
          join(work.path, 'podman-root'),
          '--runroot',
          join(work.path, 'podman-run'),
          '--storage-driver',
          'vfs',
        ];
        const podman = (...args: string[]) =>
          execFileSync('podman', [...store, ...args], { encoding: 'utf8', timeout: 300_000 });
        const id = podman('pull', '-q', `oci-archive:${archive}:bookworm`).trim();
        const out = podman(
          'run',
          '--rm',
          '--runtime',
          'runc',
          '--cgroup-manager=cgroupfs',
          '--ulimit',
          'nofile=20000:20000',
          '--ulimit',
          'nproc=1024:1024',
          '--network',
          'none',
          id,
          'cat',
          '/etc/debian_version',
        );
        expect(out).toBe(fromTar(tar, './etc/debian_version'));
      });
    });

    describeWithTools(['docker-registry'], 'registry', () => {
      let registry: RunningRegistry;
      beforeAll(async () => {
        registry = await startRegistry();
      });
      afterAll(() => registry?.stop());

      it('pushes to a registry and pulls back with identical digests', async () => {
        const push = await cliAs(
          ['push', `${layout}:bookworm`, `${registry.host}/debian:bookworm`, '--json'],
          { timeout: 600_000 },
        );
        expect(push.stderr).toBe('');
        expect(push.status).toBe(0);
        const back = join(work.path, 'pulled');
        // --referrers: the import's SBOMs and provenance come back too, so the blob sets are the same.
        const pull = await cliAs(
          ['pull', '--referrers', `${registry.host}/debian:bookworm`, `${back}:bookworm`, '--json'],
          {
            timeout: 600_000,
          },
        );
        expect(pull.status, pull.stderr).toBe(0);
        expect(JSON.parse(pull.stdout).digest).toBe(JSON.parse(push.stdout).digest);
        const blobs = async (l: string) =>
          (await readdir(join(l, 'blobs', 'sha256'))).filter((n) => !n.startsWith('.')).sort();
        expect(await blobs(back)).toEqual(await blobs(layout));
        const run = await cliAs(['run', `${back}:bookworm`, 'cat', '/etc/debian_version'], {
          timeout: 600_000,
        });
        expect(run.stdout).toBe(fromTar(tar, './etc/debian_version'));
      });
    });
  },
);

describeWithTools(
  ['mmdebstrap', 'bwrap', 'setpriv', 'qemu-aarch64-static'],
  'a foreign Debian image (arm64) under qemu-user',
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let tar: string;
    let image: string;

    beforeAll(async () => {
      tar = await debianRootfs({
        variant: 'extract',
        arch: 'arm64',
        include: ['busybox-static', 'base-files'],
      });
      work = await tempDir('debian-arm64-');
      await chmod(work.path, 0o755);
      image = `${join(work.path, 'layout')}:arm64`;
      const r = await cliAs(['import', '--platform', 'linux/arm64', tar, image], { timeout: 600_000 });
      expect(r.status, r.stderr).toBe(0);
    }, 900_000);
    afterAll(async () => {
      await work?.cleanup();
      await removeUserDirs();
    });

    it.each(users)('runs its busybox under qemu-user in the sandbox, pinned CPU too (as %s)', async (as) => {
      const dirs = await userDirs(as);
      const r = await cliAs(
        ['run', '--platform', 'linux/arm64', image, '/bin/busybox', 'cat', '/etc/debian_version'],
        { as, dirs },
      );
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toBe(fromTar(tar, './etc/debian_version'));
      const ls = await cliAs(
        [
          'run',
          '--platform',
          'linux/arm64',
          '--pin-cpu',
          image,
          '/bin/busybox',
          'sh',
          '-c',
          'uname -m; ls /home',
        ],
        { as, dirs },
      );
      expect(ls.stdout).toBe('aarch64\n'); // an empty /home: the image's, not the host's
    });

    it('says why a foreign program cannot start another one without binfmt_misc, and does not hang', async () => {
      const binfmt = (await readdir('/proc/sys/fs/binfmt_misc').catch((): string[] => [])).includes(
        'qemu-aarch64',
      );
      const r = await cliAs(
        ['run', '--platform', 'linux/arm64', image, '/bin/busybox', 'sh', '-c', '/bin/busybox true'],
        { timeout: 60_000 },
      );
      if (binfmt) {
        // With a binfmt_misc handler the kernel starts the second program under qemu-user itself.
        expect([r.status, r.stderr]).toEqual([0, '']);
        return;
      }
      expect(r.status).toBe(126);
      expect(r.stderr).toMatch(/Exec format error/);
      expect(r.stderr).toMatch(/note: linux\/arm64(\/v8)? runs under qemu-user without binfmt_misc/);
    });
  },
);
