/** Running the CLI as root or as an unprivileged user (uid 65534 through setpriv), for the sandbox tests. */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolPath } from '@scratchpack/test-utils';
import { expect } from 'vitest';
import { type CliResult, cli, cliBin, repoRoot } from './helpers.ts';

export type As = 'root' | 'nobody';
export const NOBODY = 65534;

/** Only root can switch to another user; everyone else runs as themselves. */
export const canSwitchUser = process.getuid?.() === 0;

/** The users a test runs the CLI as: root, and the unprivileged uid 65534 when this process can switch to it. */
export const users: readonly As[] = canSwitchUser ? ['root', 'nobody'] : ['root'];

const made: string[] = [];

/** A home and TMPDIR the unprivileged user can write (tsx's cache and the private rootfs go there). */
export async function userDirs(as: As): Promise<{ home: string; tmp: string }> {
  const home = await mkdtemp(join(tmpdir(), `sandbox-${as}-`));
  made.push(home);
  const tmp = join(home, 'tmp');
  await mkdir(tmp);
  if (as === 'nobody') {
    const { chown } = await import('node:fs/promises');
    await chown(home, NOBODY, NOBODY);
    await chown(tmp, NOBODY, NOBODY);
  }
  await chmod(home, 0o755);
  return { home, tmp };
}

/** Remove every directory `userDirs` made (call in afterAll). */
export async function removeUserDirs(): Promise<void> {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
}

export interface RunOpts {
  as?: As;
  dirs?: { home: string; tmp: string };
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** A file streamed to the CLI's standard input (instead of `input`). */
  stdinFile?: string;
  timeout?: number;
  /** Wrap the command (e.g. `unshare … sh -c`): gets the argv, returns the argv to spawn. */
  wrap?: (argv: string[]) => string[];
  onSpawn?: (child: ReturnType<typeof spawn>) => void;
}

/** The real CLI (`bin/scratchpack.js`), optionally as uid/gid 65534 with no supplementary groups. */
export function cliAs(args: string[], o: RunOpts = {}): Promise<CliResult> {
  let argv = [process.execPath, cliBin, ...args];
  if (o.wrap) argv = o.wrap(argv);
  if (o.as === 'nobody')
    argv = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv];
  // The user's own home, temp and rootfs cache (root's default, /var/cache/scratchpack/rootfs, would outlive the test).
  const dirs = o.dirs
    ? {
        HOME: o.dirs.home,
        TMPDIR: o.dirs.tmp,
        SCRATCHPACK_ROOTFS_CACHE: join(o.dirs.home, 'rootfs-cache'),
        // The user's own store: the test file's (test/setup-env.ts) belongs to root.
        SCRATCHPACK_STORE: join(o.dirs.home, 'store'),
      }
    : {};
  const env = { ...process.env, ...dirs, ...o.env };
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeout ?? 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    if (o.stdinFile) createReadStream(o.stdinFile).pipe(child.stdin);
    else child.stdin.end(o.input ?? '');
    o.onSpawn?.(child);
  });
}

/** Make `dir` and its parents (up to the temp root) traversable for the unprivileged user. */
export async function openUp(...dirs: string[]): Promise<void> {
  for (const d of dirs) await chmod(d, 0o755);
}

const APPLETS = [
  'sh',
  'cat',
  'ls',
  'id',
  'hostname',
  'echo',
  'touch',
  'sleep',
  'pwd',
  'grep',
  'env',
  'test',
  'mount',
  'unshare',
  'stat',
];

/**
 * A busybox-static image in an OCI layout under `work` (made 0755): /bin with applets, /etc/passwd and group
 * (root, app 1000, staff 50), /etc/motd, a non-executable /bin/data, a read-only /ro, no /tmp (the sandbox mounts a
 * tmpfs there). Cmd `echo hello from $WHO`, WHO=busybox. Returns the image reference.
 */
export async function busyboxImage(work: string): Promise<string> {
  await chmod(work, 0o755);
  const root = join(work, 'rootfs');
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'etc'));
  await copyFile(toolPath('busybox')!, join(root, 'bin', 'busybox'));
  for (const a of APPLETS) await symlink('busybox', join(root, 'bin', a));
  await writeFile(
    join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
  );
  await writeFile(join(root, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:\n');
  await writeFile(join(root, 'etc', 'motd'), 'one\ntwo\n');
  await writeFile(join(root, 'bin', 'data'), 'not a program');
  // A read-only directory with a file: the private rootfs must still be removed by an unprivileged user.
  await mkdir(join(root, 'ro'));
  await writeFile(join(root, 'ro', 'file'), 'x');
  await chmod(join(root, 'ro'), 0o555);
  const tar = join(work, 'rootfs.tar');
  execFileSync('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-cf', tar, '.']);
  const image = `${join(work, 'layout')}:bb`;
  const r = await cli([
    'import',
    tar,
    image,
    '-c',
    'CMD ["/bin/sh", "-c", "echo hello from $WHO"]',
    '-c',
    'ENV WHO=busybox',
  ]);
  expect(r.status, r.stderr).toBe(0);
  return image;
}
