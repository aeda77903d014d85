import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  convertMediaType,
  Digest,
  digestStream,
  familyOf,
  formatPlatform,
  HashingStream,
  InvalidDigestError,
  InvalidPlatformError,
  isIndex,
  isManifest,
  MediaTypes,
  normalizePlatform,
  parsePlatform,
  parseSourceDateEpoch,
  platformMatches,
  rfc3339,
  sha256,
} from '../src/index.ts';

const EMPTY = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('Digest', () => {
  it('parses, formats and compares', () => {
    const d = Digest.parse(EMPTY);
    expect(d.algorithm).toBe('sha256');
    expect(d.hex).toHaveLength(64);
    expect(d.toString()).toBe(EMPTY);
    expect(JSON.stringify({ d })).toBe(`{"d":"${EMPTY}"}`);
    expect(d.equals(EMPTY)).toBe(true);
    expect(d.equals(sha256('x'))).toBe(false);
  });

  it.each([
    ['', 'empty'],
    ['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'no algorithm'],
    ['sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'other algorithm'],
    ['sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855', 'upper case'],
    ['sha256:e3b0', 'short'],
    [`${EMPTY}0`, 'long'],
    ['sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'non-hex'],
  ])('refuses %j (%s) with OCI_INVALID_DIGEST', (s) => {
    expect(() => Digest.parse(s)).toThrow(InvalidDigestError);
    try {
      Digest.parse(s);
    } catch (e) {
      expect((e as InvalidDigestError).code).toBe('OCI_INVALID_DIGEST');
      expect((e as Error).message).toContain('64 lowercase hex');
    }
  });

  it('computes sha256 of buffers and streams identically', async () => {
    expect(sha256(Buffer.alloc(0)).toString()).toBe(EMPTY);
    const data = Buffer.from('hello, world\n'.repeat(1000));
    const h = new HashingStream();
    await pipeline(
      Readable.from([data.subarray(0, 7), data.subarray(7)]),
      h,
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
    expect(h.digest().toString()).toBe(sha256(data).toString());
    expect(h.size).toBe(data.byteLength);
    expect((await digestStream(Readable.from([data]))).digest.equals(sha256(data))).toBe(true);
  });
});

describe('platforms', () => {
  it.each([
    ['linux/amd64', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/arm64', 'linux/arm64/v8'],
    ['linux/aarch64', 'linux/arm64/v8'],
    ['linux/arm64/8', 'linux/arm64/v8'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['linux/arm/v5', 'linux/arm/v5'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/i386', 'linux/386'],
    ['linux/386', 'linux/386'],
    ['linux/ppc64le', 'linux/ppc64le'],
    ['linux/riscv64', 'linux/riscv64'],
    ['linux/mips64el', 'linux/mips64le'],
    ['linux/s390x', 'linux/s390x'],
    ['Linux/AMD64', 'linux/amd64'],
    // docker's short forms: an architecture (with its variant) means Linux
    ['arm64', 'linux/arm64/v8'],
    ['amd64', 'linux/amd64'],
    ['arm', 'linux/arm/v7'],
    ['arm/v6', 'linux/arm/v6'],
    ['arm64/v8', 'linux/arm64/v8'],
    ['386', 'linux/386'],
    ['ppc64le', 'linux/ppc64le'],
    ['s390x', 'linux/s390x'],
    ['riscv64', 'linux/riscv64'],
    ['loong64', 'linux/loong64'],
    ['mipsle', 'linux/mipsle'],
    ['x86_64', 'linux/amd64'],
  ])('%s normalises to %s', (input, want) => {
    expect(formatPlatform(parsePlatform(input))).toBe(want);
  });

  it('refuses malformed platforms', () => {
    for (const bad of [
      'linux',
      'pdp11',
      'windows',
      'linux/',
      '/amd64',
      'linux/arm/v9',
      'linux/arm64/v3',
      'a/b/c/d',
    ]) {
      expect(() => parsePlatform(bad), bad).toThrow(InvalidPlatformError);
    }
  });

  it('matches linux/arm64 with linux/arm64/v8 and honours a given variant', () => {
    expect(platformMatches('linux/arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    expect(platformMatches('linux/arm64/v8', { os: 'linux', architecture: 'arm64' })).toBe(true);
    expect(platformMatches('linux/arm', { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(true);
    expect(platformMatches('linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(false);
    expect(platformMatches('linux/amd64', 'linux/arm64')).toBe(false);
    expect(platformMatches('arm/v7', { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(false);
    expect(platformMatches('arm', { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(true);
    expect(normalizePlatform({ os: 'linux', architecture: 'amd64', variant: 'v1' })).toEqual({
      os: 'linux',
      architecture: 'amd64',
    });
  });
});

describe('media types', () => {
  it('classifies', () => {
    expect(isIndex(MediaTypes.ociIndex)).toBe(true);
    expect(isIndex(MediaTypes.dockerManifestList)).toBe(true);
    expect(isManifest(MediaTypes.dockerManifest)).toBe(true);
    expect(isManifest(MediaTypes.ociIndex)).toBe(false);
    expect(familyOf(MediaTypes.ociLayerGzip)).toBe('oci');
    expect(familyOf(MediaTypes.dockerConfig)).toBe('docker');
  });

  it('converts between families both ways', () => {
    const pairs = [
      [MediaTypes.ociIndex, MediaTypes.dockerManifestList],
      [MediaTypes.ociManifest, MediaTypes.dockerManifest],
      [MediaTypes.ociConfig, MediaTypes.dockerConfig],
      [MediaTypes.ociLayerGzip, MediaTypes.dockerLayerGzip],
    ];
    for (const [oci, docker] of pairs) {
      expect(convertMediaType(oci!, 'docker')).toBe(docker);
      expect(convertMediaType(docker!, 'oci')).toBe(oci);
      expect(convertMediaType(oci!, 'oci')).toBe(oci);
    }
    expect(() => convertMediaType(MediaTypes.ociLayerZstd, 'docker')).toThrow(/no Docker v2 equivalent/);
  });
});

describe('time', () => {
  it('formats RFC 3339 UTC without fractions', () => {
    expect(rfc3339(0)).toBe('1970-01-01T00:00:00Z');
    expect(rfc3339(1700000000)).toBe('2023-11-14T22:13:20Z');
    expect(rfc3339(new Date(1500))).toBe('1970-01-01T00:00:01Z');
  });

  it('parses SOURCE_DATE_EPOCH', () => {
    expect(parseSourceDateEpoch(undefined)).toBe(0);
    expect(parseSourceDateEpoch('')).toBe(0);
    expect(parseSourceDateEpoch('1700000000')).toBe(1700000000);
    expect(() => parseSourceDateEpoch('-1')).toThrow(/not a non-negative integer/);
    expect(() => parseSourceDateEpoch('1.5')).toThrow(expect.objectContaining({ code: 'OCI_INVALID_EPOCH' }));
  });
});
