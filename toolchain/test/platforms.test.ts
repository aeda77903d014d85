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
  it("is the official hello-world's Linux set, with s390x marked unsupported", () => {
    expect(PLATFORMS.map((p) => p.name)).toEqual([
      'linux/amd64',
      'linux/arm/v5',
      'linux/arm/v6',
      'linux/arm/v7',
      'linux/arm64/v8',
      'linux/386',
      'linux/mips64le',
      'linux/ppc64le',
      'linux/riscv64',
      'linux/s390x',
    ]);
    expect(SUPPORTED_PLATFORMS).toHaveLength(9);
    expect(PLATFORMS.filter((p) => p.unsupported).map((p) => p.name)).toEqual(['linux/s390x']);
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

  it('refuses to build s390x, saying why and what to do', () => {
    let err: PlatformError | undefined;
    try {
      requireBuildable('linux/s390x');
    } catch (e) {
      err = e as PlatformError;
    }
    expect(err?.code).toBe('PLATFORM_UNSUPPORTED');
    expect(err?.message).toMatch(/zig 0\.11 cannot link s390x/);
    expect(err?.message).toMatch(/--binary linux\/s390x=PATH/);
  });

  it('parses --platform lists into matrix order without duplicates', () => {
    expect(parsePlatformList(undefined)).toEqual([...SUPPORTED_PLATFORMS]);
    expect(parsePlatformList('all')).toHaveLength(9);
    expect(
      parsePlatformList('linux/riscv64, linux/amd64,linux/arm64,linux/arm64/v8').map((p) => p.name),
    ).toEqual(['linux/amd64', 'linux/arm64/v8', 'linux/riscv64']);
    expect(() => parsePlatformList('linux/amd64,linux/s390x')).toThrowError(/cannot be built/);
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
    expect(qemuFor(amd64, { hostArch: 'x64', env }).kind).toBe('native');
    expect(qemuFor(amd64, { hostArch: 'arm64', env }).kind).toBe('qemu');
    const r = qemuFor(v5, { hostArch: 'x64', env, pinCpu: true });
    expect(r).toMatchObject({ kind: 'qemu', qemu: 'qemu-arm-static', prefixArgs: ['-cpu', 'arm926'] });
    expect(r.command).toBeUndefined();
  });

  it('says which Debian package to install when qemu is missing', () => {
    expect(() =>
      runArgv(findPlatform('linux/riscv64'), '/x/hello', [], { hostArch: 'x64', env }),
    ).toThrowError(/qemu-riscv64-static is not installed.*apt-get install qemu-user-static/);
  });
});
