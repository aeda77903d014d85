/** Small pure pieces of import, parents and programs: flag parsing, platform validation, cache location. */
import { describe, expect, it } from 'vitest';
import { parseBinaryFlags } from '../src/build/binaries.ts';
import { cacheHome, localParent } from '../src/build/parents.ts';
import { UsageError } from '../src/errors.ts';

describe('parseBinaryFlags', () => {
  it('maps platforms (aliases too) to paths, in matrix order', () => {
    const got = parseBinaryFlags(['linux/arm64=out/arm64/app', 'linux/amd64=out/a=b', 'linux/armhf=arm']);
    expect(got.map((b) => [b.spec.name, b.path])).toEqual([
      ['linux/amd64', 'out/a=b'],
      ['linux/arm/v7', 'arm'],
      ['linux/arm64/v8', 'out/arm64/app'],
    ]);
    expect(parseBinaryFlags(['linux/s390x=x'])[0]!.spec.name).toBe('linux/s390x');
  });

  it('refuses malformed, unknown and repeated platforms', () => {
    expect(() => parseBinaryFlags(['linux/amd64'])).toThrow(/expected PLATFORM=PATH/);
    expect(() => parseBinaryFlags(['=x'])).toThrow(UsageError);
    expect(() => parseBinaryFlags(['linux/amd64='])).toThrow(/expected PLATFORM=PATH/);
    expect(() => parseBinaryFlags(['linux/sparc=x'])).toThrow(/unknown platform "linux\/sparc"/);
    expect(() => parseBinaryFlags(['linux/arm64=a', 'linux/arm64/v8=b'])).toThrow(
      /linux\/arm64\/v8 is given twice/,
    );
  });
});

describe('parents', () => {
  it('tells local layouts from registry references', () => {
    expect(localParent('oci:dist/base:1')).toBe('dist/base:1');
    expect(localParent('oci-layout:///abs/layout')).toBe('/abs/layout');
    expect(localParent('ghcr.io/org/base:1')).toBeUndefined();
    expect(localParent('alpine')).toBeUndefined();
  });

  it('caches under $XDG_CACHE_HOME, else ~/.cache', () => {
    expect(cacheHome({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/scratchpack');
    expect(cacheHome({})).toMatch(/\.cache\/scratchpack$/);
  });
});
