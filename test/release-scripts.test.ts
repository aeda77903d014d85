/** Unit tests of the release scripts' pure parts (the integration test runs them for real). */
import { ScratchpackError } from '@scratchpack/oci';
import { describe, expect, it } from 'vitest';
import {
  parseSha256sums,
  publishedReferences,
  sha256sums,
  summaryMarkdown,
} from '../scripts/release-assets.ts';
import { outputNamesPlatform } from '../scripts/release-check-platform.ts';
import { parseArgs, ReleaseError, splitLayoutRef } from '../scripts/release-common.ts';
import { parseEnvLines } from '../scripts/release-dry-run.ts';
import { ghCommands } from '../scripts/release-github.ts';
import { buildablePlatforms, checkAgainstIndex, type PlatformsJson } from '../scripts/release-platforms.ts';

const hello = (p: string) =>
  `\nHello from scratchpack!\nThis message comes from a FROM-scratch image built for ${p}:\none static binary and nothing else, packed without a Docker daemon.\n\n`;

describe('outputNamesPlatform', () => {
  it("finds the platform in hello's message", () => {
    expect(outputNamesPlatform(hello('linux/arm/v7'), 'linux/arm/v7')).toBe(true);
    expect(outputNamesPlatform(hello('linux/amd64'), 'linux/amd64')).toBe(true);
  });

  it('does not accept another platform, or a longer name containing it', () => {
    expect(outputNamesPlatform(hello('linux/arm/v6'), 'linux/arm/v7')).toBe(false);
    expect(outputNamesPlatform(hello('linux/arm/v7'), 'linux/arm')).toBe(false);
    expect(outputNamesPlatform('built for linux/arm64/v8x', 'linux/arm64/v8')).toBe(false);
    expect(outputNamesPlatform('built for xlinux/386', 'linux/386')).toBe(false);
    expect(outputNamesPlatform('', 'linux/386')).toBe(false);
  });
});

describe('buildablePlatforms / checkAgainstIndex', () => {
  const json: PlatformsJson = {
    zig: { version: '0.14.0-dev.2456+a68119f8f', path: '/zig', source: 'npm' },
    platforms: [
      { platform: 'linux/amd64', label: 'linux-amd64', build: 'yes', run: 'native' },
      { platform: 'linux/arm/v5', label: 'linux-arm-v5', build: 'yes', run: 'qemu-arm-static -cpu arm926' },
      {
        platform: 'linux/s390x',
        label: 'linux-s390x',
        build: 'no: this zig cannot link s390x',
        run: 'native',
      },
    ],
  };

  it('keeps the buildable platforms in matrix order', () => {
    expect(buildablePlatforms(json)).toEqual(['linux/amd64', 'linux/arm/v5']);
  });

  it('fails loudly without zig instead of giving an empty matrix', () => {
    const noZig = { zig: null, platforms: json.platforms.map((p) => ({ ...p, build: 'no: no zig found' })) };
    expect(() => buildablePlatforms(noZig)).toThrow(/cannot build any platform \(no: no zig found\)/);
    expect(() => buildablePlatforms({ ...json, platforms: [] })).toThrow(/no buildable platform/);
  });

  it('the built index must hold exactly the matrix', () => {
    expect(() =>
      checkAgainstIndex(['linux/amd64', 'linux/arm/v5'], ['linux/arm/v5', 'linux/amd64']),
    ).not.toThrow();
    expect(() => checkAgainstIndex(['linux/amd64', 'linux/arm/v5'], ['linux/amd64'])).toThrow(
      /not in the index: linux\/arm\/v5/,
    );
    expect(() => checkAgainstIndex(['linux/amd64'], ['linux/amd64', 'linux/s390x'])).toThrow(
      /in the index but not buildable here: linux\/s390x/,
    );
  });
});

describe('release assets', () => {
  it('SHA256SUMS is sha256sum -c format and parses back', () => {
    const text = sha256sums([{ name: 'hello.oci.tar', bytes: Buffer.from('abc') }]);
    expect(text).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  hello.oci.tar\n');
    expect(parseSha256sums(text).get('hello.oci.tar')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('lists every published reference', () => {
    expect(publishedReferences('ghcr.io/o/r:v1.2.3', ['1.2', 'latest'])).toEqual([
      'ghcr.io/o/r:v1.2.3',
      'ghcr.io/o/r:1.2',
      'ghcr.io/o/r:latest',
    ]);
    expect(publishedReferences('127.0.0.1:5000/o/r:v1.2.3', ['latest'])).toEqual([
      '127.0.0.1:5000/o/r:v1.2.3',
      '127.0.0.1:5000/o/r:latest',
    ]);
    expect(publishedReferences(undefined, ['latest'])).toEqual([]);
  });

  it('the summary has the index digest, the references and one table row per platform', () => {
    const md = summaryMarkdown(
      {
        reference: 'dist/oci:latest',
        tag: 'latest',
        digest: 'sha256:aaaa',
        mediaType: 'application/vnd.oci.image.index.v1+json',
        annotations: { 'org.opencontainers.image.revision': 'abc123' },
        validated: true,
        images: [
          {
            platform: 'linux/amd64',
            digest: 'sha256:bbbb',
            mediaType: 'm',
            size: 1689,
            layers: [{ size: 600 }],
          },
          {
            platform: 'linux/arm/v7',
            digest: 'sha256:cccc',
            mediaType: 'm',
            size: 1811,
            layers: [{ size: 700 }],
          },
        ],
      },
      { title: 'hello v1.2.3', references: ['ghcr.io/o/r:v1.2.3'], sums: 'ff  hello.oci.tar\n' },
    );
    expect(md).toContain('## hello v1.2.3');
    expect(md).toContain('Index digest: `sha256:aaaa` (2 platforms');
    expect(md).toContain('revision: `abc123`');
    expect(md).toContain('- `ghcr.io/o/r:v1.2.3`');
    expect(md).toContain('| `linux/amd64` | `sha256:bbbb` | 1 | 1,689 B |');
    expect(md).toContain('| `linux/arm/v7` | `sha256:cccc` | 1 | 1,811 B |');
    expect(md).toContain('ff  hello.oci.tar');
  });
});

describe('ghCommands', () => {
  const files = {
    archive: 'dist/hello.oci.tar',
    sums: 'dist/release/SHA256SUMS',
    notes: 'dist/release/summary.md',
  };

  it('creates the release from the pushed tag, then uploads (replacing earlier uploads)', () => {
    expect(ghCommands('v1.2.3', false, files)).toEqual([
      ['release', 'create', 'v1.2.3', '--verify-tag', '--title', 'v1.2.3', '--notes-file', files.notes],
      ['release', 'upload', 'v1.2.3', files.archive, files.sums, '--clobber'],
    ]);
  });

  it('marks prereleases, and only uploads when the release exists', () => {
    expect(ghCommands('v1.2.3-rc.1', false, files)[0]).toContain('--prerelease');
    expect(ghCommands('v1.2.3', true, files)).toEqual([
      ['release', 'upload', 'v1.2.3', files.archive, files.sums, '--clobber'],
    ]);
  });
});

describe('helpers', () => {
  it('parseEnvLines reads what release:tags prints', () => {
    expect(parseEnvLines('RELEASE_TAG=v1.2.3\nIMAGE_REF=h:5/o/r:v1.2.3\nIMAGE_TAGS=\n')).toEqual({
      RELEASE_TAG: 'v1.2.3',
      IMAGE_REF: 'h:5/o/r:v1.2.3',
      IMAGE_TAGS: '',
    });
  });

  it('splitLayoutRef', () => {
    expect(splitLayoutRef('dist/oci:latest').tag).toBe('latest');
    expect(splitLayoutRef('dist/oci:latest').dir).toMatch(/\/dist\/oci$/);
    expect(splitLayoutRef('/tmp/x:1.0').dir).toBe('/tmp/x');
    expect(splitLayoutRef('/tmp/x').tag).toBe('latest');
  });

  it('parseArgs', () => {
    expect(
      parseArgs(['a', '--out', 'd', '--release=v1.0.0', '--release', 'v2.0.0', '--skip-build'], {
        values: ['out'],
        repeatable: ['release'],
        flags: ['skip-build'],
      }),
    ).toEqual({
      positional: ['a'],
      values: { out: ['d'], release: ['v1.0.0', 'v2.0.0'] },
      flags: new Set(['skip-build']),
    });
    expect(() => parseArgs(['--nope'], {})).toThrow(ReleaseError);
    expect(() => parseArgs(['--out'], { values: ['out'] })).toThrow(/needs a value/);
    expect(() => parseArgs(['--out', 'a', '--out', 'b'], { values: ['out'] })).toThrow(/given twice/);
  });

  it('fails with a ReleaseError, a ScratchpackError (code RELEASE_FAILED)', () => {
    const e = new ReleaseError('no tag');
    expect(e).toBeInstanceOf(ScratchpackError);
    expect(e).toMatchObject({ code: 'RELEASE_FAILED', message: 'no tag', name: 'ReleaseError' });
  });
});
