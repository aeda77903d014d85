import { describe, expect, it } from 'vitest';
import { loadReference, parseReference } from '../src/reference.ts';

describe('parseReference', () => {
  it('reads platform, directory, ELF and gzip -9n sizes, skipping comments and blank lines', () => {
    const text =
      '# source: somewhere\n# platform\tdir\telf\tgz\n\nlinux/amd64\tamd64\t10072\t2254\r\nlinux/arm/v7\tarm32v7\t4040\t2751\n';
    expect(parseReference(text)).toEqual([
      { platform: 'linux/amd64', archDir: 'amd64', elfBytes: 10072, gzip9Bytes: 2254 },
      { platform: 'linux/arm/v7', archDir: 'arm32v7', elfBytes: 4040, gzip9Bytes: 2751 },
    ]);
  });

  it('names the line of a malformed row', () => {
    expect(() => parseReference('# c\nlinux/amd64\tamd64\tten\t2254\n')).toThrow(/line 2/);
    expect(() => parseReference('linux/amd64 amd64 1 2\n')).toThrow(/line 1/);
  });

  it('the copy in the package names its source and covers the ten platforms the official image has', () => {
    const rows = loadReference();
    const platforms = rows.map((r) => r.platform);
    for (const p of [
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
    ]) {
      expect(platforms).toContain(p);
    }
    expect(rows).toHaveLength(10);
  });
});
