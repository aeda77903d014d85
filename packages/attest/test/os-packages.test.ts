import { layerFromEntries, readRootfsFiles } from '@scratchpack/oci';
import { describe, expect, it } from 'vitest';
import {
  cyclonedxDocument,
  isPackageDbPath,
  muslCpe,
  osPackages,
  parseApkInstalled,
  parseDpkgStatus,
  parseOsRelease,
  spdxDocument,
} from '../src/index.ts';
import { sampleInputs, validators } from './helpers.ts';

const OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=debian
`;

// As dpkg writes var/lib/dpkg/status (fields trimmed); `dpkg` is removed but its config kept: not installed.
const STATUS = `Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u9
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: gcc-12-base
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14

Package: login
Status: install ok installed
Architecture: amd64
Source: shadow
Version: 1:4.13+dfsg1-1+b1

Package: dpkg-old
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0
`;

const APK = `C:Q1abc=
P:musl
V:1.2.5-r0
A:x86_64
S:408459
L:MIT
o:musl
m:Natanael Copa

C:Q1def=
P:libcrypto3
V:3.3.2-r0
A:x86_64
L:Apache-2.0
o:openssl
`;

describe('distribution packages from a rootfs', () => {
  it('os-release: id, version, pretty name', () => {
    expect(parseOsRelease(OS_RELEASE)).toEqual({
      id: 'debian',
      versionId: '12',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
    });
    expect(parseOsRelease('ID=debian\nVERSION_CODENAME=trixie\n')).toEqual({
      id: 'debian',
      versionId: 'trixie',
    });
    expect(parseOsRelease('NAME=x\n')).toBeUndefined();
  });

  it('dpkg: installed packages only, with the purls syft writes (epoch and source as qualifiers)', () => {
    const pkgs = parseDpkgStatus(STATUS, parseOsRelease(OS_RELEASE));
    expect(pkgs.map((p) => [p.name, p.version, p.arch, p.purl])).toEqual([
      [
        'libc6',
        '2.36-9+deb12u9',
        'amd64',
        'pkg:deb/debian/libc6@2.36-9+deb12u9?arch=amd64&distro=debian-12&upstream=glibc',
      ],
      [
        'gcc-12-base',
        '12.2.0-14',
        'amd64',
        'pkg:deb/debian/gcc-12-base@12.2.0-14?arch=amd64&distro=debian-12&upstream=gcc-12%4012.2.0-14',
      ],
      [
        'login',
        '1:4.13+dfsg1-1+b1',
        'amd64',
        'pkg:deb/debian/login@4.13+dfsg1-1+b1?arch=amd64&distro=debian-12&epoch=1&upstream=shadow',
      ],
    ]);
  });

  it('apk: name, version, arch, licence, origin', () => {
    const pkgs = parseApkInstalled(APK, { id: 'alpine', versionId: '3.20.3' });
    expect(pkgs).toEqual([
      {
        type: 'apk',
        name: 'musl',
        version: '1.2.5-r0',
        arch: 'x86_64',
        license: 'MIT',
        purl: 'pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3',
      },
      {
        type: 'apk',
        name: 'libcrypto3',
        version: '3.3.2-r0',
        arch: 'x86_64',
        license: 'Apache-2.0',
        source: 'openssl',
        purl: 'pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl',
      },
    ]);
  });

  it('reads the databases from layers: status.d (distroless), a later layer replacing, a whiteout removing', async () => {
    const base = layerFromEntries([
      { type: 'file', path: 'etc/os-release', content: OS_RELEASE },
      { type: 'file', path: 'var/lib/dpkg/status', content: STATUS },
      {
        type: 'file',
        path: 'var/lib/dpkg/status.d/tzdata',
        content: 'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n',
      },
      {
        type: 'file',
        path: 'var/lib/dpkg/status.d/tzdata.md5sums',
        content: 'abc  usr/share/zoneinfo/UTC\n',
      },
      { type: 'file', path: 'lib/apk/db/installed', content: APK },
      { type: 'file', path: 'usr/bin/big', content: 'x' },
    ]);
    const upper = layerFromEntries([
      { type: 'file', path: 'var/lib/dpkg/status', content: STATUS.split('\n\n')[0]! },
      { type: 'whiteout', path: 'lib/apk' },
    ]);
    const files = await readRootfsFiles([base, upper], isPackageDbPath);
    expect([...files.keys()].sort()).toEqual([
      'etc/os-release',
      'var/lib/dpkg/status',
      'var/lib/dpkg/status.d/tzdata',
    ]);
    const os = await osPackages(files);
    expect(os.distro?.id).toBe('debian');
    expect(os.packages.map((p) => `${p.name}=${p.version}`)).toEqual([
      'libc6=2.36-9+deb12u9',
      'tzdata=2024a-0+deb12u1',
    ]);
  });

  it('SPDX and CycloneDX list each package with its purl, the distro, musl with purl and CPE; both validate', async () => {
    const i = sampleInputs({
      osPackages: await osPackages(
        new Map([
          ['etc/os-release', Buffer.from(OS_RELEASE)],
          ['var/lib/dpkg/status', Buffer.from(STATUS)],
        ]),
      ),
    });
    const spdx = spdxDocument(i) as { packages: Record<string, unknown>[]; files: Record<string, unknown>[] };
    const refs = (p: Record<string, unknown>) =>
      (p.externalRefs as { referenceType: string; referenceLocator: string }[] | undefined) ?? [];
    const purls = spdx.packages.flatMap((p) =>
      refs(p)
        .filter((r) => r.referenceType === 'purl')
        .map((r) => r.referenceLocator),
    );
    expect(purls).toContain('pkg:deb/debian/libc6@2.36-9+deb12u9?arch=amd64&distro=debian-12&upstream=glibc');
    expect(purls).toContain('pkg:generic/musl@1.2.4');
    expect(purls.some((p) => p.startsWith('pkg:generic/hello'))).toBe(true);
    expect(
      spdx.packages.flatMap((p) => refs(p).filter((r) => r.referenceType === 'cpe23Type')),
    ).toContainEqual(expect.objectContaining({ referenceLocator: muslCpe('1.2.4') }));
    expect(spdx.packages.find((p) => p.primaryPackagePurpose === 'OPERATING_SYSTEM')).toMatchObject({
      name: 'debian',
      versionInfo: '12',
    });
    // SPDX 2.3 §8.4: every file has SHA1 (and SHA256 here).
    for (const f of spdx.files) {
      const algs = (f.checksums as { algorithm: string }[]).map((c) => c.algorithm);
      expect(algs).toEqual(['SHA1', 'SHA256']);
    }
    const { spdx: validSpdx, cyclonedx: validCdx } = validators();
    expect(validSpdx(spdx)).toEqual([]);
    const cdx = cyclonedxDocument(i) as { components: Record<string, unknown>[] };
    expect(cdx.components.find((c) => c.name === 'login')).toMatchObject({
      type: 'library',
      version: '1:4.13+dfsg1-1+b1',
      purl: 'pkg:deb/debian/login@4.13+dfsg1-1+b1?arch=amd64&distro=debian-12&epoch=1&upstream=shadow',
    });
    expect(cdx.components.find((c) => c.name === 'musl')).toMatchObject({
      purl: 'pkg:generic/musl@1.2.4',
      cpe: muslCpe('1.2.4'),
    });
    expect(cdx.components.find((c) => c.type === 'operating-system')).toMatchObject({
      name: 'debian',
      version: '12',
    });
    expect(validCdx(cdx)).toEqual([]);
  });
});
