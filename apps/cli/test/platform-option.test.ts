/** build and import take the same --platform values: the matrix's, never a path or an unknown name. */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildInputError, matrixPlatform } from '@scratchpack/builder';
import { formatPlatform, hostPlatform } from '@scratchpack/oci';
import { tempDir } from '@scratchpack/test-utils';
import { describe, expect, it } from 'vitest';
import { platformsOption } from '../src/commands/build.ts';
import { cli } from './helpers.ts';

describe('--platform of build and import', () => {
  it('accepts the matrix by name, alias and label', () => {
    expect(matrixPlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(matrixPlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(matrixPlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(matrixPlatform('linux/arm/7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(matrixPlatform('linux-arm-v6')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(matrixPlatform('LINUX/AMD64')).toEqual({ os: 'linux', architecture: 'amd64' });
  });

  it("accepts docker's short forms: an architecture alone, or with its variant, is Linux", () => {
    expect(matrixPlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(matrixPlatform('amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(matrixPlatform('arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(matrixPlatform('arm/v6')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(matrixPlatform('arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    for (const a of ['386', 'ppc64le', 's390x', 'riscv64', 'mips64le'])
      expect(matrixPlatform(a)).toEqual({ os: 'linux', architecture: a });
    expect(matrixPlatform('x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(platformsOption(['arm64,amd64', 'arm/v6'])).toEqual([
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm', variant: 'v6' },
    ]);
    expect(() => matrixPlatform('pdp11')).toThrow(
      /"pdp11": expected os\/arch or os\/arch\/variant \(or an architecture/,
    );
  });

  it.each([
    'linux/foo',
    'windows/amd64',
    '../../etc',
    '../../..',
    'linux/amd64/../..',
    'linux',
    'linux/arm/v9',
    '',
  ])('refuses %j as a usage error listing the platforms', (value) => {
    const err = (() => {
      try {
        matrixPlatform(value);
      } catch (e) {
        return e as BuildInputError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(BuildInputError);
    expect(err!.code).toBe('USAGE');
    expect(err!.message).toContain(`--platform ${JSON.stringify(value)}`);
    expect(err!.hint).toMatch(/linux\/amd64.*linux\/arm64\/v8/);
  });

  it('says why', () => {
    expect(() => matrixPlatform('linux/pdp11')).toThrow(/"linux\/pdp11": unknown architecture pdp11;/);
    expect(() => matrixPlatform('windows/amd64')).toThrow(
      /unknown os windows \(images are built for linux\)/,
    );
    expect(() => matrixPlatform('linux/arm64/v9')).toThrow(
      /no variant v9 of linux\/arm64 in the platform matrix/,
    );
    expect(() => matrixPlatform('../../..')).toThrow(/expected os\/arch or os\/arch\/variant/);
  });

  it('build refuses them too, in a list', () => {
    expect(() => platformsOption(['linux/amd64,../../..'])).toThrow(BuildInputError);
    expect(() => platformsOption(['windows/amd64'])).toThrow(/not a platform scratchpack builds images for/);
  });
});

describe('the CLI', () => {
  it('build and import refuse the same bad platforms with exit 2, writing nothing', async () => {
    const { path, cleanup } = await tempDir('cli-platform-');
    try {
      const b = await cli([
        'build',
        `${path}/ctx/{os}/{arch}`,
        '--platform',
        '../../..',
        '-o',
        `${path}/out`,
      ]);
      expect(b.status).toBe(2);
      expect(b.stderr).toContain(
        '--platform "../../..": expected os/arch or os/arch/variant (or an architecture: arm64, arm/v6), in letters and digits; not a platform scratchpack builds images for',
      );
      const i = await cli(['import', '-', `${path}/imp`, '--platform', 'windows/amd64'], { input: '' });
      expect(i.status).toBe(2);
      expect(i.stderr).toContain('--platform "windows/amd64": unknown os windows');
      expect(await readdir(path)).toEqual([]);
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('build --platform arm64 builds linux/arm64; --help shows the host as the default', async () => {
    const { path, cleanup } = await tempDir('cli-platform-short-');
    try {
      await mkdir(join(path, 'ctx'));
      await writeFile(join(path, 'ctx', 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
      const b = await cli([
        'build',
        join(path, 'ctx'),
        '--platform',
        'arm64',
        '-o',
        join(path, 'out'),
        '--json',
      ]);
      expect(b.stderr).toBe('');
      expect(b.status).toBe(0);
      expect(JSON.parse(b.stdout).images.map((i: { platform: string }) => i.platform)).toEqual([
        'linux/arm64/v8',
      ]);
      const help = (await cli(['build', '--help'])).stdout.replace(/\s+/g, ' ');
      expect(help).toContain(`(default: this host, ${formatPlatform(hostPlatform({ os: 'linux' }))})`);
      expect(help).not.toContain('default: []');
      expect(help.match(/default: the local store/g)).toHaveLength(1);
    } finally {
      await cleanup();
    }
  }, 60_000);
});
