/**
 * The seed's full-image path end to end: a real Debian bookworm rootfs (mmdebstrap, cached between runs)
 * is imported from standard input, run by `scratchpack run` (the image's /etc/debian_version, never the
 * host's files; as root and as uid 65534), run by podman as an independent engine, pushed to a real registry
 * and pulled back with identical digests. A foreign one (arm64, busybox-static) runs under qemu-user
 * inside the sandbox, pipelines too (qemu-user registered in the container's own binfmt_misc). With `-t` a program
 * cannot push keystrokes into the caller's shell (tmux), and `getent hosts localhost` works.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { chmod, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sandboxedBinfmtSupported } from '@scratchpack/runtime';
import { describeWithTools, type RunningRegistry, startRegistry, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianRootfs } from './debian-rootfs.ts';
import { cliBin } from './helpers.ts';
import { cliAs, NOBODY, removeUserDirs, userDirs, users } from './sandbox-helpers.ts';
import { Tmux } from './tmux.ts';

const fromTar = (tar: string, path: string) => execFileSync('tar', ['-xOf', tar, path], { encoding: 'utf8' });

describeWithTools(
  ['mmdebstrap', 'bwrap', 'setpriv', 'tar', 'tmux', 'perl'],
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
        const script = `cat /etc/debian_version; test -e ${hostOnly} && echo probe-visible || echo probe-hidden; test -e /work && echo host-root || echo own-root; id -u; getent hosts localhost`;
        const r = await cliAs(['run', `${layout}:bookworm`, 'sh', '-c', script], {
          as,
          dirs,
          timeout: 600_000,
        });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(
          new RegExp(
            `^${fromTar(tar, './etc/debian_version')}probe-hidden\nown-root\n0\n(::1|127\\.0\\.0\\.1)\\s+localhost`,
          ),
        );
        expect((await readdir(dirs.tmp)).filter((n) => n.startsWith('scratchpack-run-'))).toEqual([]);
      });
    });

    describe.each(users)('run -t as %s', (as) => {
      it("a program cannot push input into the caller's shell (TIOCSTI); the terminal is restored", async () => {
        const dirs = await userDirs(as);
        const drop = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
        const term = new Tmux([...(as === 'nobody' ? drop : []), 'sh'], {
          ...process.env,
          HOME: dirs.home,
          TMPDIR: dirs.tmp,
          PS1: '$ ',
        });
        const inject = (file: string) =>
          `perl -e 'ioctl(STDIN, 0x5412, $_) or die "TIOCSTI: $!\\n" for split //, "touch ${file}\\n"'`;
        try {
          // The control: from a program on the caller's own terminal the kernel lets the injection through.
          term.type(inject(join(dirs.tmp, 'control')));
          for (let i = 0; i < 600 && !(await readdir(dirs.tmp)).includes('control'); i++)
            await new Promise((res) => setTimeout(res, 100));
          expect(await readdir(dirs.tmp)).toContain('control');
          const injected = join(dirs.tmp, 'injected');
          term.type(
            `${process.execPath} ${cliBin} run -t ${layout}:bookworm ${inject(injected)}; echo "run-exit=$?"`,
          );
          const screen = await term.waitFor(/run-exit=\d+/);
          expect(screen).toMatch(/TIOCSTI: Operation not permitted/);
          expect(screen).toMatch(/run-exit=1/);
          term.type("stty -a | grep -q -- ' -icanon' && echo still-raw || echo cooked-again");
          await term.waitFor(/^(still-raw|cooked-again)$/m);
          expect(term.screen()).toMatch(/^cooked-again$/m);
          expect(await readdir(dirs.tmp)).not.toContain('injected');
        } finally {
          term.kill();
        }
      });
    });

    it('Ctrl-C while the image is unpacked into the cache removes the half entry and exits 130', async () => {
      const dirs = await userDirs('root');
      const cache = join(dirs.home, 'rootfs-cache');
      let child: ChildProcess | undefined;
      const p = cliAs(['run', `${layout}:bookworm`, 'true'], {
        dirs,
        env: { SCRATCHPACK_ROOTFS_CACHE: cache },
        onSpawn: (c) => (child = c),
      });
      // Wait until unpacking is under way (usr/ exists in the layer's temporary entry), then interrupt.
      const layers = join(cache, 'layers');
      let started = false;
      for (let i = 0; i < 1200 && !started; i++) {
        const tmp = (await readdir(layers).catch((): string[] => [])).filter((n) => n.startsWith('.tmp-'));
        started =
          tmp.length > 0 && (await readdir(join(layers, tmp[0]!)).catch((): string[] => [])).includes('usr');
        if (!started) await new Promise((res) => setTimeout(res, 50));
      }
      expect(started).toBe(true);
      child!.kill('SIGINT');
      const r = await p;
      expect(r.status).toBe(130);
      expect(await readdir(layers)).toEqual([]);
      // No lease left either (an empty leases folder may stay).
      expect(await readdir(join(cache, 'leases')).catch((): string[] => [])).toEqual([]);
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

    it.each(users)(
      'runs pipelines of foreign programs with no host binfmt_misc: qemu-user registered in the container (as %s)',
      async (as) => {
        const dirs = await userDirs(as);
        const host = await readdir('/proc/sys/fs/binfmt_misc').catch((): string[] => []);
        expect(host).not.toContain('qemu-aarch64'); // else the host's handler would do the work
        const script =
          '/bin/busybox echo a b c | /bin/busybox wc -w; /bin/busybox sh -c "/bin/busybox uname -m"';
        const r = await cliAs(
          ['run', '--platform', 'linux/arm64', image, '/bin/busybox', 'sh', '-c', script],
          {
            as,
            dirs,
            timeout: 120_000,
          },
        );
        if (sandboxedBinfmtSupported()) {
          expect([r.status, r.stderr, r.stdout]).toEqual([0, '', '3\naarch64\n']);
          return;
        }
        // Linux < 6.7: the first program only, and a note saying why.
        expect(r.status).toBe(126);
        expect(r.stderr).toMatch(/Exec format error/);
        expect(r.stderr).toMatch(
          /note: linux\/arm64(\/v8)? runs under qemu-user without binfmt_misc \(Linux .* older than 6\.7/,
        );
      },
    );
  },
);
