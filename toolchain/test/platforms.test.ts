import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatPlatform, hostPlatform, platformOfNode } from '@scratchpack/oci';
import { describe, expect, it } from 'vitest';
import { compileArgs } from '../src/compile.ts';
import {
  findPlatform,
  PLATFORMS,
  PlatformError,
  parsePlatformList,
  requireBuildable,
  SUPPORTED_PLATFORMS,
} from '../src/platforms.ts';
import { qemuFor, runArgv } from '../src/qemu.ts';

describe('the platform matrix', () => {
  it("is the 15 Linux platforms of Go and the OCI spec, in Go's order, all buildable", () => {
    expect(PLATFORMS.map((p) => p.name)).toEqual([
      'linux/amd64',
      'linux/386',
      'linux/arm/v5',
      'linux/arm/v6',
      'linux/arm/v7',
      'linux/arm64/v8',
      'linux/loong64',
      'linux/mips',
      'linux/mipsle',
      'linux/mips64',
      'linux/mips64le',
      'linux/ppc64',
      'linux/ppc64le',
      'linux/riscv64',
      'linux/s390x',
    ]);
    expect(SUPPORTED_PLATFORMS).toEqual(PLATFORMS);
    for (const p of PLATFORMS) expect(requireBuildable(p.name)).toBe(p);
  });

  it('gives each platform its byte order, and the big-endian ones are the four Go calls big-endian', () => {
    expect(PLATFORMS.filter((p) => p.endian === 'big').map((p) => p.name)).toEqual([
      'linux/mips',
      'linux/mips64',
      'linux/ppc64',
      'linux/s390x',
    ]);
    for (const p of PLATFORMS) {
      const le = /el-|le-|^(x86|arm|aarch64|riscv64|loongarch64)/.test(p.zigTarget);
      expect(p.endian, p.name).toBe(le ? 'little' : 'big');
    }
  });

  it('pins the new platforms to their baselines: z196, POWER8, MIPS32r2/MIPS64r2, LA464', () => {
    const s390x = findPlatform('linux/s390x');
    expect(s390x).toMatchObject({ zigTarget: 's390x-linux-musl', zigCpu: 'z196' });
    // qemu's TCG lacks some z196 facilities no compiler emits: the model names them off, nothing newer on.
    expect(s390x.qemuCpu).toMatch(/^z196-base(,[a-z0-9-]+=off)+$/);
    expect(findPlatform('linux/ppc64')).toMatchObject({ zigCpu: 'pwr8', qemuCpu: 'power8', endian: 'big' });
    expect(findPlatform('linux/mips')).toMatchObject({
      zigTarget: 'mips-linux-musleabi',
      zigCpu: 'mips32r2',
      qemuCpu: '24Kc',
      elfClass: 32,
    });
    expect(findPlatform('linux/mipsle').zigTarget).toBe('mipsel-linux-musleabi');
    expect(findPlatform('linux/mips64')).toMatchObject({
      zigTarget: 'mips64-linux-muslabi64',
      qemuCpu: 'MIPS64R2-generic',
    });
    expect(findPlatform('linux/loong64')).toMatchObject({
      zigTarget: 'loongarch64-linux-musl',
      elfMachine: 'LoongArch',
      qemu: 'qemu-loongarch64-static',
    });
  });

  it("is the README's Platforms table, row for row", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Platforms\n'), readme.indexOf('## Why zig'));
    const rows = section.split('\n').filter((l) => l.startsWith('| `linux/'));
    expect(rows).toHaveLength(PLATFORMS.length);
    PLATFORMS.forEach((p, i) => {
      const cells = rows[i]!.split(' | ');
      expect(cells.slice(0, 3), p.name).toEqual([`| \`${p.name}\``, `\`${p.zigTarget}\``, `\`${p.zigCpu}\``]);
      expect(cells[3], p.name).toBe(`${p.elfClass}-bit ${p.endian === 'big' ? 'BE' : 'LE'}`);
      expect(rows[i], p.name).toContain(`\`${p.qemu}\``);
    });
  });

  it('has unique labels, names and zig target+cpu pairs', () => {
    const uniq = (xs: string[]) => new Set(xs).size === xs.length;
    expect(uniq(PLATFORMS.map((p) => p.label))).toBe(true);
    expect(uniq(PLATFORMS.map((p) => p.name))).toBe(true);
    expect(uniq(PLATFORMS.map((p) => `${p.zigTarget} ${p.zigCpu}`))).toBe(true);
  });

  it('derives names and labels from the OCI platform, using Go architecture names', () => {
    for (const p of PLATFORMS) {
      const { os, architecture, variant } = p.platform;
      expect(p.name).toBe([os, architecture, variant].filter(Boolean).join('/'));
      expect(p.label).toBe(p.name.replaceAll('/', '-'));
      expect(architecture).not.toMatch(/^(x86_64|aarch64|i386|armhf)$/);
    }
  });

  it('pins each ARM variant to a CPU of that generation', () => {
    expect(findPlatform('linux/arm/v5')).toMatchObject({
      zigCpu: 'arm926ej_s',
      qemuCpu: 'arm926',
      armArch: 'v5TE',
    });
    expect(findPlatform('linux/arm/v6')).toMatchObject({
      zigCpu: 'arm1176jzf_s',
      qemuCpu: 'arm1176',
      armArch: 'v6',
    });
    expect(findPlatform('linux/arm/v7')).toMatchObject({ qemuCpu: 'cortex-a8', armArch: 'v7' });
    expect(findPlatform('linux/arm/v5').zigTarget).toBe('arm-linux-musleabi');
    expect(findPlatform('linux/arm/v6').zigTarget).toBe('arm-linux-musleabihf');
  });

  it('accepts labels and the aliases docker buildx accepts', () => {
    expect(findPlatform('linux-arm64-v8').name).toBe('linux/arm64/v8');
    expect(findPlatform('linux/arm64').name).toBe('linux/arm64/v8');
    expect(findPlatform('linux/arm').name).toBe('linux/arm/v7');
    expect(findPlatform('LINUX/AMD64').name).toBe('linux/amd64');
  });

  it('refuses unknown platforms with the list of known ones', () => {
    expect(() => findPlatform('linux/sparc64')).toThrowError(
      /unknown platform "linux\/sparc64": expected one of linux\/amd64, /,
    );
    expect(() => findPlatform('windows/amd64')).toThrowError(PlatformError);
  });

  it('parses --platform lists into matrix order without duplicates', () => {
    expect(parsePlatformList(undefined)).toEqual([...SUPPORTED_PLATFORMS]);
    expect(parsePlatformList('all')).toHaveLength(15);
    expect(
      parsePlatformList('linux/riscv64, linux/amd64,linux/arm64,linux/arm64/v8').map((p) => p.name),
    ).toEqual(['linux/amd64', 'linux/arm64/v8', 'linux/riscv64']);
    expect(parsePlatformList('linux/s390x,linux/mipsel,linux/loongarch64').map((p) => p.name)).toEqual([
      'linux/loong64',
      'linux/mipsle',
      'linux/s390x',
    ]);
    expect(() => parsePlatformList('linux/amd64,linux/sparc64')).toThrowError(/unknown platform/);
  });
});

describe('compile arguments', () => {
  it('passes target, cpu, static, a prefix map and the defines', () => {
    const p = findPlatform('linux/arm/v6');
    const argv = compileArgs(
      p,
      { sources: ['src/a.c'], cwd: '/w/pkg', defines: { X: '"y"' }, flags: ['-Os'] },
      '/o/t',
    );
    expect(argv).toEqual([
      'cc',
      '-target',
      'arm-linux-musleabihf',
      '-mcpu=arm1176jzf_s',
      '-static',
      '-ffile-prefix-map=/w/pkg=.',
      '-Os',
      '-DX="y"',
      '-o',
      '/o/t',
      'src/a.c',
    ]);
  });
});

describe('qemuFor', () => {
  const env = { PATH: '' };
  it('runs a platform natively when the host matches, else under qemu with the pinned CPU', () => {
    const amd64 = findPlatform('linux/amd64');
    const v5 = findPlatform('linux/arm/v5');
    expect(qemuFor(amd64, { host: 'linux/amd64', env }).kind).toBe('native');
    expect(qemuFor(amd64, { host: 'linux/arm64', env }).kind).toBe('qemu');
    const r = qemuFor(v5, { host: 'linux/amd64', env, pinCpu: true });
    expect(r).toMatchObject({ kind: 'qemu', qemu: 'qemu-arm-static', prefixArgs: ['-cpu', 'arm926'] });
    expect(r.command).toBeUndefined();
  });

  it("runs natively on the host oci's mapping names, byte order and arm variant included", () => {
    const native = (host: ReturnType<typeof platformOfNode>) =>
      PLATFORMS.filter((p) => qemuFor(p, { host, env }).kind === 'native').map((p) => p.name);
    const linux = (arch: string, extra: { endianness?: 'BE' | 'LE'; armVersion?: string } = {}) =>
      platformOfNode({
        platform: 'linux',
        arch,
        endianness: extra.endianness ?? 'LE',
        armVersion: extra.armVersion,
      });
    expect(native(linux('x64'))).toEqual(['linux/amd64']);
    expect(native(linux('arm64'))).toEqual(['linux/arm64/v8']);
    expect(native(linux('ppc64'))).toEqual(['linux/ppc64le']);
    expect(native(linux('ppc64', { endianness: 'BE' }))).toEqual(['linux/ppc64']);
    expect(native(linux('arm', { armVersion: '7' }))).toEqual(['linux/arm/v7']);
    expect(native(linux('mipsel'))).toEqual(['linux/mipsle']);
    expect(native(linux('s390x'))).toEqual(['linux/s390x']);
    // This host: exactly the platform oci's hostPlatform names.
    expect(PLATFORMS.filter((p) => qemuFor(p, { env }).kind === 'native').map((p) => p.name)).toEqual(
      PLATFORMS.filter((p) => p.name === formatPlatform(hostPlatform({ os: 'linux' }))).map((p) => p.name),
    );
  });

  it('says which Debian package to install when qemu is missing', () => {
    expect(() =>
      runArgv(findPlatform('linux/riscv64'), '/x/hello', [], { host: 'linux/amd64', env }),
    ).toThrowError(/qemu-riscv64-static is not installed.*apt-get install qemu-user-static/);
  });
});
