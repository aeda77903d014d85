/** The runtime's pieces that need no sandbox: bwrap's argv, users from the image, userns hints, locating. */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binfmtRule, sandboxedBinfmtSupported } from '../src/binfmt.ts';
import { type SandboxSpec, sandboxArgs } from '../src/bwrap.ts';
import { checkHostname, hostsFile, parseVolume } from '../src/container.ts';
import { capabilities, DEFAULT_CAPS } from '../src/hardening.ts';
import { programEnv, resolveUser } from '../src/image-config.ts';
import { locate } from '../src/locate.ts';
import { outerNamespacePrefix } from '../src/outer-ns.ts';
import { hostIds, usernsHint } from '../src/sandbox.ts';

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
  files: [],
  masked: [],
  readOnlyProc: [],
  caps: [...DEFAULT_CAPS],
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

describe('hardening', () => {
  it('gives container root Docker’s capabilities, never CAP_SYS_ADMIN unless added; others none', () => {
    const a = sandboxArgs(base);
    expect(a.join(' ')).toContain('--cap-drop ALL --cap-add CAP_CHOWN');
    expect(a).not.toContain('CAP_SYS_ADMIN');
    const app = sandboxArgs({ ...base, uid: 1000 });
    expect(app).toContain('--cap-drop');
    expect(app).not.toContain('--cap-add');
    expect(capabilities(['sys_admin'], ['CAP_NET_RAW'])).toContain('CAP_SYS_ADMIN');
    expect(capabilities(['sys_admin'], ['CAP_NET_RAW'])).not.toContain('CAP_NET_RAW');
    expect(capabilities([], ['ALL'])).toEqual([]);
    expect(() => capabilities(['FLY'])).toThrow(/unknown capability "FLY"/);
  });

  it('masks and write-protects /proc paths after mounting /proc, and reads seccomp from its fd', () => {
    const a = sandboxArgs({
      ...base,
      masked: [
        { path: '/proc/keys', dir: false },
        { path: '/proc/acpi', dir: true },
      ],
      readOnlyProc: [{ path: '/proc/sys', dir: true }],
      seccompFd: 4,
    });
    const s = a.join(' ');
    expect(s).toContain(
      '--proc /proc --ro-bind /dev/null /proc/keys --tmpfs /proc/acpi --remount-ro /proc/acpi --ro-bind /proc/sys /proc/sys --dev /dev',
    );
    expect(s).toMatch(/--seccomp 4 --chdir/);
  });

  it('runs bwrap as nobody only for root of the host, not for root of a user namespace', () => {
    expect(hostIds(0, '         0          0 4294967295\n')).toEqual({ uid: 65534, gid: 65534 });
    expect(hostIds(0, '         0       1000          1\n')).toBeUndefined();
    expect(hostIds(1000, '         0          0 4294967295\n')).toBeUndefined();
    expect(() => hostIds(0, '         0          0          1\n')).toThrow(/nobody\) is not mapped/);
    expect(hostsFile('box')).toBe(
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tbox\n',
    );
  });
});

describe('binfmt_misc for foreign architectures', () => {
  it('needs Linux 6.7 for an instance per user namespace', () => {
    expect(sandboxedBinfmtSupported('6.18.44-fc-v1272')).toBe(true);
    expect(sandboxedBinfmtSupported('6.7.0')).toBe(true);
    expect(sandboxedBinfmtSupported('6.6.30-amd64')).toBe(false);
    expect(sandboxedBinfmtSupported('5.15.0')).toBe(false);
    expect(sandboxedBinfmtSupported('7.0')).toBe(true);
  });

  it("takes Debian's rule, fixes the interpreter (F), and registers it in a namespace of its own", async () => {
    const t = await tempDir('binfmt-');
    try {
      await writeFile(
        join(t.path, 'qemu-aarch64.conf'),
        `:qemu-aarch64:M::\\x7f\\x45\\x4c\\x46\\x02:\\xff\\xff\\xff\\xff\\xff:${process.execPath}:OCP\n`,
      );
      await writeFile(
        join(t.path, 'qemu-s390x.conf'),
        ':qemu-s390x:M::\\x7fELF:\\xff\\xff:/nonexistent/qemu:OCF\n',
      );
      expect(binfmtRule('qemu-aarch64', undefined, t.path)).toBe(
        `:qemu-aarch64:M::\\x7f\\x45\\x4c\\x46\\x02:\\xff\\xff\\xff\\xff\\xff:${process.execPath}:FOP`,
      );
      // Its interpreter is missing: the qemu-user found on PATH, without P.
      expect(binfmtRule('qemu-s390x-static', '/usr/bin/qemu-s390x-static', t.path)).toBe(
        ':qemu-s390x:M::\\x7fELF:\\xff\\xff:/usr/bin/qemu-s390x-static:F',
      );
      expect(binfmtRule('qemu-s390x', undefined, t.path)).toBeUndefined();
      expect(binfmtRule('qemu-riscv64', '/q', t.path)).toBeUndefined();
      const p = outerNamespacePrefix('/usr/bin/unshare', { binfmt: { rule: 'RULE', mountDir: '/d/binfmt' } });
      expect(p.slice(0, 5)).toEqual(['/usr/bin/unshare', '--user', '--map-root-user', '--mount', '/bin/sh']);
      expect(p[6]).toBe(
        'mount -t binfmt_misc binfmt_misc "$1" && printf %s "$2" > "$1"/register && shift 2 && exec "$@"',
      );
      expect(p.slice(-2)).toEqual(['/d/binfmt', 'RULE']);
      // Layers of one cache directory are named from it, topmost first.
      const both = outerNamespacePrefix('/u', {
        overlay: { lower: ['/c/base', '/c/top'], upper: '/p/u', work: '/p/w', merged: '/p/m' },
        binfmt: { rule: 'R', mountDir: '/p/b' },
      });
      expect(both[6]).toMatch(
        /^cd "\$1" && mount -t overlay overlay -o "\$2" "\$3" && mount -t binfmt_misc binfmt_misc "\$4" .* && shift 5 && exec "\$@"$/,
      );
      expect(both.slice(8)).toEqual([
        '/c',
        'lowerdir=top:base,upperdir=/p/u,workdir=/p/w,userxattr',
        '/p/m',
        '/p/b',
        'R',
      ]);
      const apart = outerNamespacePrefix('/u', {
        overlay: { lower: ['/a/l', '/b/l'], upper: '/p/u', work: '/p/w', merged: '/p/m' },
      });
      expect(apart.slice(8)).toEqual(['lowerdir=/b/l:/a/l,upperdir=/p/u,workdir=/p/w,userxattr', '/p/m']);
      // More layers than one page of mount options holds: a clear error, not a failed mount.
      const many = Array.from({ length: 80 }, (_, i) => `/c/${'f'.repeat(63)}${i % 10}`);
      expect(() =>
        outerNamespacePrefix('/u', { overlay: { lower: many, upper: '/u', work: '/w', merged: '/m' } }),
      ).toThrow(/80 layers, more than one overlay mount can stack/);
      expect(outerNamespacePrefix('/u', {})).toEqual([]);
    } finally {
      await t.cleanup();
    }
  });
});

describe('run inputs refused as docker refuses them', () => {
  it('-e =x: a variable without a name', () => {
    expect(() => programEnv({}, ['=x'])).toThrow(/invalid environment variable "=x"/);
    expect(() => programEnv({ Env: ['=y'] }, [])).toThrow(/invalid environment variable "=y"/);
    expect(programEnv({}, ['A=1', 'B='])).toMatchObject({ A: '1', B: '' });
  });
  it('-u with more than one colon, or no user', async () => {
    await expect(resolveUser('/nonexistent', '0:0:0')).rejects.toMatchObject({
      code: 'USAGE',
      message: 'invalid user "0:0:0": expected user[:group]',
    });
    await expect(resolveUser('/nonexistent', ':5')).rejects.toThrow(/invalid user ":5"/);
  });
  it('--hostname: at most 64 characters of a host name', () => {
    expect(() => checkHostname('h'.repeat(64))).not.toThrow();
    expect(() => checkHostname('h'.repeat(65))).toThrow(/65 characters, the limit is 64/);
    expect(() => checkHostname('a b')).toThrow(/invalid hostname "a b"/);
  });
  it('-v into /proc, /sys, /dev or onto / is refused', async () => {
    for (const t of ['/proc/x', '/proc', '/sys/kernel', '/dev/../proc/1', '/'])
      await expect(parseVolume(`/tmp:${t}`)).rejects.toMatchObject({ code: 'USAGE' });
    expect(await parseVolume('/tmp:/data/proc')).toMatchObject({ target: '/data/proc' });
  });
});
