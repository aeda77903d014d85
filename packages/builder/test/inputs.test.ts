/** Small pure pieces of the builder's inputs: binaries, parents, per-platform templates. */

import { SUPPORTED_PLATFORMS } from '@scratchpack/toolchain';
import { describe, expect, it } from 'vitest';
import { BuildInputError } from '../src/errors.ts';
import { cacheHome, localParent } from '../src/parents.ts';
import { matrixPlatforms } from '../src/platforms.ts';
import { parseBinaryFlags } from '../src/program.ts';
import { expandTemplate } from '../src/template.ts';

describe('parseBinaryFlags', () => {
  it('maps platforms (aliases too) to paths, in matrix order', () => {
    const got = parseBinaryFlags(['linux/arm64=out/arm64/app', 'linux/amd64=out/a=b', 'linux/armhf=arm']);
    expect(got.map((b) => [b.spec.name, b.path])).toEqual([
      ['linux/amd64', 'out/a=b'],
      ['linux/arm/v7', 'arm'],
      ['linux/arm64/v8', 'out/arm64/app'],
    ]);
    expect(parseBinaryFlags(['linux/s390x=x'])[0]!.spec.name).toBe('linux/s390x');
    // docker's short forms
    expect(parseBinaryFlags(['arm64=a', 'arm/v6=b', '386=c']).map((b) => b.spec.name)).toEqual([
      'linux/386',
      'linux/arm/v6',
      'linux/arm64/v8',
    ]);
  });

  it('refuses malformed, unknown and repeated platforms', () => {
    expect(() => parseBinaryFlags(['linux/amd64'])).toThrow(/expected PLATFORM=PATH/);
    expect(() => parseBinaryFlags(['=x'])).toThrow(BuildInputError);
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

describe('per-platform templates', () => {
  it('expands per-platform placeholders', () => {
    const p = { os: 'linux', architecture: 'arm', variant: 'v7' };
    expect(expandTemplate('dist/{label}', p)).toBe('dist/linux-arm-v7');
    expect(expandTemplate('{os}/{arch}/{variant}/{platform}', p)).toBe('linux/arm/v7/linux/arm/v7');
    expect(expandTemplate('dist/{label}', { os: 'linux', architecture: 'amd64' })).toBe('dist/linux-amd64');
    expect(() => expandTemplate('dist/{nope}', p)).toThrowError(/unknown placeholder \{nope\}/);
  });
  it('expands placeholders in a --cflag, and names the flag and the known placeholders when one is unknown', () => {
    const mips = { os: 'linux', architecture: 'mipsle' };
    expect(expandTemplate('-DARCH="{arch}"', mips, '--cflag')).toBe('-DARCH="mipsle"');
    expect(expandTemplate('-DV="{variant}" -DP={platform} -DL={label}', mips)).toBe(
      '-DV="" -DP=linux/mipsle -DL=linux-mipsle',
    );
    // Braces that are not a placeholder stay as they are.
    expect(expandTemplate('-DINIT={1,2}', mips)).toBe('-DINIT={1,2}');
    let err: BuildInputError | undefined;
    try {
      expandTemplate('-DX={cpu}', mips, '--cflag "-DX={cpu}"');
    } catch (e) {
      err = e as BuildInputError;
    }
    expect(err).toBeInstanceOf(BuildInputError);
    expect(err?.message).toBe('unknown placeholder {cpu} in --cflag "-DX={cpu}"');
    expect(err?.hint).toBe('known placeholders: {os}, {arch}, {variant}, {label}, {platform}');
  });

  it('a context template can never climb out of its tree, whatever the platform says', () => {
    const evil = { os: '..', architecture: '..' };
    expect(() => expandTemplate('ctx/{os}/{arch}', evil)).toThrow(/not a path-safe platform name/);
    expect(() =>
      expandTemplate('ctx/{platform}', { os: 'linux', architecture: 'amd64', variant: '..' }),
    ).toThrow(BuildInputError);
    expect(expandTemplate('ctx/{os}/{arch}{variant}', { os: 'linux', architecture: 'amd64' })).toBe(
      'ctx/linux/amd64',
    );
  });
});

describe('matrixPlatforms ($PLATFORMS of the example packages)', () => {
  it('takes all, or names and aliases of the matrix, each platform once', () => {
    expect(matrixPlatforms('all')).toHaveLength(SUPPORTED_PLATFORMS.length);
    expect(matrixPlatforms('linux/arm64, linux/arm64/v8,linux/amd64')).toEqual([
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { os: 'linux', architecture: 'amd64' },
    ]);
    expect(() => matrixPlatforms('linux/sparc')).toThrow(BuildInputError);
  });
});
