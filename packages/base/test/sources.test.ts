import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { describe, expect, it } from 'vitest';
import {
  aptSources,
  compareDebVersions,
  defaultLock,
  formatLock,
  lockDiff,
  parseDeb822,
  parseLock,
  parsePackages,
  parseSourcesList,
} from '../src/index.ts';
import { mirrorsFor, mirrorsFromEnv } from '../src/sources.ts';

describe('apt sources', () => {
  it('reads one-line entries, skipping deb-src, comments and options', () => {
    expect(
      parseSourcesList(
        '# x\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian/ bookworm main contrib\ndeb-src http://m.example/debian bookworm main\n',
      ),
    ).toEqual([{ uri: 'http://m.example/debian', suites: ['bookworm'], components: ['main', 'contrib'] }]);
  });

  it('reads deb822 stanzas with several URIs and suites, skipping disabled ones', () => {
    const text = `Types: deb deb-src
# a comment
URIs: http://a.example/debian http://b.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
Enabled: no
URIs: http://c.example/debian
Suites: bookworm
`;
    expect(parseDeb822(text)).toEqual([
      { uri: 'http://a.example/debian', suites: ['bookworm', 'bookworm-updates'], components: ['main'] },
      { uri: 'http://b.example/debian', suites: ['bookworm', 'bookworm-updates'], components: ['main'] },
    ]);
  });

  it('finds sources.list and sources.list.d/*.list and *.sources, ignoring other files', async () => {
    const t = await tempDir();
    try {
      await mkdir(join(t.path, 'sources.list.d'));
      await writeFile(join(t.path, 'sources.list'), 'deb http://one.example/debian bookworm main\n');
      await writeFile(
        join(t.path, 'sources.list.d', 'sec.sources'),
        'Types: deb\nURIs: http://two.example/debian-security\nSuites: bookworm-security\nComponents: main\n',
      );
      await writeFile(
        join(t.path, 'sources.list.d', 'off.list.disabled'),
        'deb http://no.example/x bookworm main\n',
      );
      const s = await aptSources(t.path);
      expect(s.map((x) => x.uri)).toEqual([
        'http://one.example/debian',
        'http://two.example/debian-security',
      ]);
      expect(mirrorsFor('bookworm-security', s)).toEqual(['http://two.example/debian-security']);
      expect(() => mirrorsFor('trixie', s)).toThrow(/no Debian mirror serves suite trixie/);
      expect(mirrorsFor('trixie', s, ['http://given.example/d/'])).toEqual(['http://given.example/d']);
    } finally {
      await t.cleanup();
    }
  });

  it('takes mirrors from SCRATCHPACK_DEBIAN_MIRROR', () => {
    expect(
      mirrorsFromEnv({ SCRATCHPACK_DEBIAN_MIRROR: 'http://a/debian, http://a/debian-security' }),
    ).toEqual(['http://a/debian', 'http://a/debian-security']);
  });
});

describe('Debian versions', () => {
  it.each([
    ['1.0', '1.0', 0],
    ['1.0~rc1', '1.0', -1],
    ['20250419~deb12u2', '20230311+deb12u1', 1],
    ['2026f-0+deb12u1', '2026b-0+deb12u1', 1],
    ['2025b-0+deb12u2', '2025b-0+deb12u1', 1],
    ['1:0.9', '2.0', 1],
    ['1.10', '1.9', 1],
    ['1.0a', '1.0+', -1],
    ['12.4+deb12u15', '12.4+deb12u9', 1],
  ])('%s vs %s', (a, b, want) => {
    expect(Math.sign(compareDebVersions(a, b))).toBe(want);
    expect(Math.sign(compareDebVersions(b, a))).toBe(-want || 0);
  });
});

describe('the lock', () => {
  it('the committed lock is valid and pins only Architecture: all packages', () => {
    expect(defaultLock.packages.map((p) => p.name)).toEqual([
      'ca-certificates',
      'media-types',
      'netbase',
      'tzdata',
    ]);
    for (const p of defaultLock.packages) expect(p.architecture).toBe('all');
    // Committed as formatLock writes it, so a refresh shows a minimal diff.
    expect(formatLock(defaultLock)).toBe(
      `${JSON.stringify(parseLock(JSON.parse(formatLock(defaultLock)), 'x'), null, 2)}\n`,
    );
  });

  it('refuses a bad lock, naming the package and field', () => {
    const bad = structuredClone(defaultLock);
    bad.packages[1]!.sha256 = 'abc';
    expect(() => parseLock(bad, 'my.lock.json')).toThrow(
      /my\.lock\.json: packages\[1\] \(media-types\): "sha256"/,
    );
    const outside = structuredClone(defaultLock);
    outside.packages[0]!.filename = '../../etc/passwd';
    expect(() => parseLock(outside, 'l')).toThrow(/unsafe "filename"/);
  });

  it('diffs two locks', () => {
    const next = structuredClone(defaultLock);
    next.packages[3]!.version = '2099a-0+deb12u1';
    expect(lockDiff(defaultLock, next)).toEqual([
      `~ tzdata ${defaultLock.packages[3]!.version} → 2099a-0+deb12u1 (${next.packages[3]!.suite})`,
    ]);
    expect(lockDiff(defaultLock, defaultLock)).toEqual([]);
  });

  it('parses Packages stanzas with continuation lines', () => {
    const s = parsePackages('Package: a\nVersion: 1\nDescription: x\n more\n\nPackage: b\nSHA256: ff\n');
    expect(s.map((f) => f.get('Package'))).toEqual(['a', 'b']);
    expect(s[0]!.get('Description')).toBe('x\nmore');
  });
});
