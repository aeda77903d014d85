/** The pieces of `scratchpack run` that need no sandbox: bwrap's argv, users from the image, userns hints, locating. */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../src/commands/run.ts';
import { type SandboxSpec, sandboxArgs } from '../src/run/bwrap.ts';
import { resolveUser } from '../src/run/image-config.ts';
import { locate } from '../src/run/locate.ts';
import { usernsHint } from '../src/run/sandbox.ts';

const base: SandboxSpec = {
  rootfs: '/tmp/r/rootfs',
  uid: 0,
  gid: 0,
  hostname: 'box',
  workdir: '/',
  network: 'none',
  readOnly: false,
  tmpfsTmp: false,
  volumes: [],
  roFiles: [],
  tty: false,
  argv: ['/bin/sh', '-c', 'true'],
};

describe('sandboxArgs', () => {
  it('isolates everything by default and ends with the program after --', () => {
    const a = sandboxArgs(base);
    for (const ns of ['--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net'])
      expect(a).toContain(ns);
    expect(a.join(' ')).toContain('--bind /tmp/r/rootfs / --proc /proc --dev /dev');
    expect(a).toContain('--new-session');
    expect(a).not.toContain('--tmpfs');
    expect(a).not.toContain('--remount-ro');
    expect(a.slice(-4)).toEqual(['--', '/bin/sh', '-c', 'true']);
  });

  it('shares the network only when asked, and maps the user', () => {
    const a = sandboxArgs({ ...base, network: 'host', uid: 1000, gid: 100, tty: true });
    expect(a).not.toContain('--unshare-net');
    expect(a).not.toContain('--new-session');
    expect(a.join(' ')).toContain('--uid 1000 --gid 100');
  });

  it('mounts volumes, qemu and /tmp before making the root read-only', () => {
    const a = sandboxArgs({
      ...base,
      readOnly: true,
      tmpfsTmp: true,
      volumes: [
        { host: '/h/data', target: '/data', readOnly: true },
        { host: '/h/rw', target: '/rw', readOnly: false },
      ],
      roFiles: [{ host: '/usr/bin/qemu-aarch64-static', target: '/.q/qemu-aarch64-static' }],
      workdir: '/srv',
    });
    const s = a.join(' ');
    expect(s).toContain('--tmpfs /tmp');
    expect(s).toContain(
      '--ro-bind /h/data /data --bind /h/rw /rw --ro-bind /usr/bin/qemu-aarch64-static /.q/qemu-aarch64-static',
    );
    expect(a.indexOf('--remount-ro')).toBeGreaterThan(a.indexOf('/.q/qemu-aarch64-static'));
    expect(s).toContain('--chdir /srv --');
  });
});

describe('image users and programs', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const t = await tempDir('run-units-');
    cleanup = t.cleanup;
    root = t.path;
    await mkdir(join(root, 'etc'));
    await mkdir(join(root, 'bin'));
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n',
    );
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nstaff:x:50:\n');
    await writeFile(join(root, 'usr/bin/tool'), 'x');
    await chmod(join(root, 'usr/bin/tool'), 0o755);
    await writeFile(join(root, 'bin/data'), 'x');
    await chmod(join(root, 'bin/data'), 0o644);
  });
  afterAll(() => cleanup());

  it('resolves names through the image /etc/passwd and /etc/group, ids as given', async () => {
    expect(await resolveUser(root, undefined)).toEqual({ uid: 0, gid: 0, home: '/root' });
    expect(await resolveUser(root, 'app')).toEqual({ uid: 1000, gid: 1001, home: '/home/app' });
    expect(await resolveUser(root, 'app:staff')).toMatchObject({ uid: 1000, gid: 50 });
    expect(await resolveUser(root, '1000')).toMatchObject({ uid: 1000, gid: 1001 });
    expect(await resolveUser(root, '42:7')).toEqual({ uid: 42, gid: 7, home: undefined });
    await expect(resolveUser(root, 'nobody')).rejects.toThrow(/unable to find user nobody.*\/etc\/passwd/);
    await expect(resolveUser(root, 'app:wheel')).rejects.toThrow(/unable to find group wheel/);
  });

  it('locates programs on the image PATH and tells missing from not executable', async () => {
    expect(await locate(root, 'tool', '/', '/bin:/usr/bin')).toMatchObject({
      status: 'found',
      path: '/usr/bin/tool',
    });
    expect(await locate(root, '/usr/bin/tool', '/', '')).toMatchObject({ status: 'found' });
    expect(await locate(root, '../usr/bin/tool', '/bin', '')).toMatchObject({
      status: 'found',
      path: '/usr/bin/tool',
    });
    expect(await locate(root, 'data', '/', '/bin')).toEqual({ status: 'not-executable', path: '/bin/data' });
    expect(await locate(root, 'nope', '/', '/bin:/usr/bin')).toEqual({ status: 'missing' });
  });
});

describe('usernsHint', () => {
  const fake = (values: Record<string, string>) => (p: string) => values[p];
  it('names the setting that is off', () => {
    expect(usernsHint(fake({ '/proc/sys/kernel/unprivileged_userns_clone': '0' }))).toContain(
      'sysctl -w kernel.unprivileged_userns_clone=1',
    );
    expect(usernsHint(fake({ '/proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1' }))).toContain(
      'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
    );
    expect(usernsHint(fake({ '/proc/sys/user/max_user_namespaces': '0' }))).toContain(
      'user.max_user_namespaces',
    );
    expect(usernsHint(fake({}))).toMatch(/enable unprivileged user namespaces.*--no-sandbox/);
  });
});

describe('run: Docker-style argument parsing', () => {
  async function parse(argv: string[]) {
    // As main.ts sets it up: options after a subcommand are that subcommand's.
    const program = new Command('scratchpack').enablePositionalOptions().exitOverride();
    runCommand(program);
    const run = program.commands.find((c) => c.name() === 'run')!;
    let got: { ref: string; args: string[]; opts: Record<string, unknown> } | undefined;
    run.action((ref: string, args: string[], opts: Record<string, unknown>) => {
      got = { ref, args, opts };
    });
    await program.parseAsync(['node', 'scratchpack', 'run', ...argv]);
    return got!;
  }

  it('options before the image are run’s, everything after it is the program’s', async () => {
    const r = await parse([
      '-it',
      '--rm',
      '-e',
      'A=1',
      '-v',
      '/a:/b:ro',
      'img:tag',
      'cat',
      '-n',
      '-e',
      '--help',
    ]);
    expect(r.ref).toBe('img:tag');
    expect(r.args).toEqual(['cat', '-n', '-e', '--help']);
    expect(r.opts).toMatchObject({
      tty: true,
      interactive: true,
      rm: true,
      env: ['A=1'],
      volume: ['/a:/b:ro'],
    });
    expect(r.opts.sandbox).toBe(true);
    expect(r.opts.network).toBe('none');
  });

  it('keeps `--` working in both places', async () => {
    expect((await parse(['--', 'img', 'ls', '-l'])).args).toEqual(['ls', '-l']);
    expect((await parse(['img', '--', 'ls', '-l'])).args).toEqual(['--', 'ls', '-l']);
    expect((await parse(['--no-sandbox', '--platform', 'linux/arm64', 'img'])).opts).toMatchObject({
      sandbox: false,
      platform: 'linux/arm64',
    });
  });
});
