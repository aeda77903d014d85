import { describe, expect, it } from 'vitest';
import { imageRepository, parseReleaseTag, releaseEnv, releaseTags } from '../scripts/release-tags.ts';

describe('releaseTags', () => {
  it('a release gets its own tag, MAJOR.MINOR and latest', () => {
    expect(releaseTags('v1.2.3')).toEqual(['v1.2.3', '1.2', 'latest']);
    expect(releaseTags('v0.1.0')).toEqual(['v0.1.0', '0.1', 'latest']);
    expect(releaseTags('v10.20.30')).toEqual(['v10.20.30', '10.20', 'latest']);
  });

  it('a prerelease gets only its own tag', () => {
    expect(releaseTags('v1.2.3-rc.1')).toEqual(['v1.2.3-rc.1']);
    expect(releaseTags('v2.0.0-beta')).toEqual(['v2.0.0-beta']);
    expect(releaseTags('v0.0.0-dryrun')).toEqual(['v0.0.0-dryrun']);
    expect(releaseTags('v1.0.0-0.3.7')).toEqual(['v1.0.0-0.3.7']);
  });

  it.each([
    'main',
    '1.2.3',
    'v1.2',
    'v1',
    'v1.2.3.4',
    'v01.2.3',
    'v1.2.3-',
    'v1.2.3-rc..1',
    'v1.2.3-01',
    'v1.2.3+build.5',
    'V1.2.3',
    ' v1.2.3',
    `v1.2.3-${'x'.repeat(130)}`,
  ])('refuses %j with a message saying what a release tag looks like', (tag) => {
    expect(() => releaseTags(tag)).toThrow(/not a release tag: expected vMAJOR\.MINOR\.PATCH/);
  });

  it('parses the parts', () => {
    expect(parseReleaseTag('v3.4.5-rc.2')).toEqual({
      tag: 'v3.4.5-rc.2',
      major: 3,
      minor: 4,
      patch: 5,
      prerelease: 'rc.2',
    });
    expect(parseReleaseTag('v3.4.5').prerelease).toBeUndefined();
  });
});

describe('imageRepository', () => {
  it('lowercases (GHCR refuses uppercase repositories) and drops a trailing slash', () => {
    expect(imageRepository('ghcr.io/Some-Owner/ScratchPack')).toBe('ghcr.io/some-owner/scratchpack');
    expect(imageRepository('127.0.0.1:5000/scratchpack/hello/')).toBe('127.0.0.1:5000/scratchpack/hello');
  });

  it('refuses what is not a repository', () => {
    expect(() => imageRepository('ghcr.io')).toThrow(/not an image repository/);
    expect(() => imageRepository('ghcr.io/owner/name:tag')).toThrow(/not an image repository/);
    expect(() => imageRepository('ghcr.io/own er/name')).toThrow(/not an image repository/);
  });
});

describe('releaseEnv (what publish:images reads)', () => {
  it('puts the version tag in IMAGE_REF and the others in IMAGE_TAGS', () => {
    expect(releaseEnv('v1.2.3', 'ghcr.io/Owner/Repo')).toEqual({
      RELEASE_TAG: 'v1.2.3',
      IMAGE_REF: 'ghcr.io/owner/repo:v1.2.3',
      IMAGE_TAGS: '1.2,latest',
    });
    expect(releaseEnv('v1.2.3-rc.1', 'ghcr.io/o/r')).toEqual({
      RELEASE_TAG: 'v1.2.3-rc.1',
      IMAGE_REF: 'ghcr.io/o/r:v1.2.3-rc.1',
      IMAGE_TAGS: '',
    });
    expect(releaseEnv('v1.2.3')).toEqual({ RELEASE_TAG: 'v1.2.3', IMAGE_TAGS: '1.2,latest' });
  });
});
