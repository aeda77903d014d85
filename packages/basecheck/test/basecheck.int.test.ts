/**
 * The static base end to end, on all fifteen platforms: `scratchpack base static --platform all` (the Debian
 * packages pinned by @scratchpack/base's lock, fetched through the machine's apt sources and cached under
 * $XDG_CACHE_HOME) gives one layer shared by every platform, under 1 MiB, and the same index from two
 * folders; `build --c-source basecheck.c --base static` puts basecheck on it, and `scratchpack run` starts each
 * platform's image (natively or under qemu-user) where basecheck finds the user, the time zone, the CA
 * bundle, /tmp and /etc/services. FROM scratch the same program finds none of them.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { resolveZig, SUPPORTED_PLATFORMS } from '@scratchpack/toolchain';
import { afterAll, beforeAll, expect, it } from 'vitest';

const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(pkgRoot, 'src', 'basecheck.c');
const cliBin = join(pkgRoot, '..', '..', 'apps', 'cli', 'bin', 'scratchpack.js');
const qemus = [...new Set(SUPPORTED_PLATFORMS.map((p) => p.qemu))].filter((q) => q !== 'qemu-x86_64-static');
const HOST = 'linux/amd64';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

let store = '';

function scratchpack(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], {
      cwd,
      env: { ...process.env, SCRATCHPACK_STORE: store },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function ok(args: string[], cwd: string): Promise<Run> {
  const r = await scratchpack(args, cwd);
  if (r.status !== 0) throw new Error(`scratchpack ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r;
}

const EXPECTED = `nonroot uid=65532 gid=65532 home=/home/nonroot
Europe/Paris 1700000000 = 2023-11-14 23:13:20 CET
certificates: more than 100 (/etc/ssl/certs/ca-certificates.crt)
/tmp mode 1777
https/tcp port 443
`;

interface BaseJson {
  index: string;
  layer: string;
  images: { platform: string; digest: string; size: number }[];
  packages: { name: string; purl: string }[];
}

describeWithTools(
  ['bwrap', ...qemus],
  'basecheck on the static base, every platform (zig + qemu-user)',
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let first: BaseJson;
    let second: BaseJson;

    beforeAll(async () => {
      resolveZig();
      work = await tempDir('basecheck-');
      store = join(work.path, 'store');
      for (const d of ['a', 'b/nested']) await mkdir(join(work.path, d), { recursive: true });
      first = JSON.parse(
        (await ok(['base', 'static', '--platform', 'all', '-o', 'base', '--json'], join(work.path, 'a')))
          .stdout,
      );
      second = JSON.parse(
        (
          await ok(
            ['base', 'static', '--platform', 'all', '-o', 'base', '-t', 'static', '--json'],
            join(work.path, 'b/nested'),
          )
        ).stdout,
      );
      await ok(['base', 'static', '--platform', 'all', '-t', 'static'], work.path);
      await ok(
        ['build', '--c-source', source, '--platform', 'all', '--base', 'static', '-o', 'app'],
        work.path,
      );
      // zig builds musl once per target (then cached): fifteen of them take a while on a cold cache.
    }, 3_600_000);
    afterAll(() => work?.cleanup());

    it('gives fifteen platforms sharing one layer of at most 1 MiB, and the same index from two folders', () => {
      expect(first.images.map((i) => i.platform)).toEqual(SUPPORTED_PLATFORMS.map((p) => p.name));
      expect(new Set(first.images.map((i) => i.digest)).size).toBe(15);
      for (const i of first.images) expect(i.size).toBeLessThanOrEqual(1024 * 1024);
      expect(second.index).toBe(first.index);
      expect(second.layer).toBe(first.layer);
      expect(first.packages.map((p) => p.purl)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^pkg:deb\/debian\/tzdata@.*distro=debian-12$/)]),
      );
    });

    it.each(SUPPORTED_PLATFORMS.map((p) => [p.name] as const))(
      '%s: basecheck finds the user, Europe/Paris, the CA bundle, /tmp and https',
      async (name) => {
        const r = await scratchpack(['run', '--platform', name, '--pin-cpu', 'app:latest'], work.path);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe(EXPECTED);
        expect(r.status).toBe(0);
      },
    );

    it('FROM scratch the same program finds none of it', async () => {
      await ok(['build', '--c-source', source, '--platform', HOST, '-o', 'bare'], work.path);
      const r = await scratchpack(['run', '--platform', HOST, 'bare:latest'], work.path);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/^MISSING nonroot in \/etc\/passwd\n/);
      expect(r.stdout).toContain('MISSING CA bundle\n');
      expect(r.stdout).toContain('MISSING https in /etc/services\n');
    });
  },
);
