/**
 * rpm packages in the SBOM of an import: an rpmdb.sqlite made by Debian's rpm 4.18 (two tiny packages built with
 * rpmbuild and recorded with `rpm -i --justdb`, packages/attest/test/fixtures/rpm/make-rpmdb.sh) in a Fedora-like
 * rootfs; the SBOM lists what `rpm -qa` lists, with syft's purls, and validates.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { validators } from '../../../packages/attest/test/helpers.ts';
import { cli, repoRoot } from './helpers.ts';

type Obj = Record<string, unknown>;
const MAKE_DB = join(repoRoot, 'packages', 'attest', 'test', 'fixtures', 'rpm', 'make-rpmdb.sh');

describeWithTools(['rpm', 'rpmbuild', 'tar'], 'rpm packages in the SBOM of an import', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let listed: string[];
  let layout: string;

  beforeAll(async () => {
    work = await tempDir('rpm-sbom-');
    const root = join(work.path, 'rootfs');
    const dbDir = join(root, 'usr', 'lib', 'sysimage', 'rpm');
    execFileSync('sh', [MAKE_DB, dbDir], { stdio: 'pipe' });
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc', 'os-release'), 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=39\n');
    // As Fedora 36+ has it: var/lib/rpm is a symlink to the database in usr/lib/sysimage.
    await mkdir(join(root, 'var', 'lib'), { recursive: true });
    execFileSync('ln', ['-s', '../../usr/lib/sysimage/rpm', join(root, 'var', 'lib', 'rpm')]);
    const qf = '%{NAME} %{EPOCHNUM} %{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM}\\n';
    listed = execFileSync('rpm', ['--dbpath', dbDir, '-qa', '--qf', qf], { encoding: 'utf8', stdio: 'pipe' })
      .trim()
      .split('\n')
      .sort();
    const tar = join(work.path, 'rootfs.tar');
    execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', tar, '.']);
    layout = join(work.path, 'layout');
    const r = await cli(['import', tar, `${layout}:f39`, '--platform', 'linux/amd64']);
    expect([r.status, r.stderr]).toEqual([0, '']);
  });
  afterAll(() => work?.cleanup());

  const sbom = async (format: string) =>
    JSON.parse(
      (await cli(['sbom', `${layout}:f39`, '--platform', 'linux/amd64', '--format', format])).stdout,
    );

  it('SPDX lists every package rpm -qa lists, with pkg:rpm/fedora purls as syft writes them; valid SPDX 2.3', async () => {
    expect(listed).toHaveLength(2);
    const doc = await sbom('spdx');
    const purls = (doc.packages as Obj[]).flatMap((p) =>
      ((p.externalRefs as { referenceLocator: string }[] | undefined) ?? [])
        .map((r) => r.referenceLocator)
        .filter((l) => l.startsWith('pkg:rpm/')),
    );
    const expected = listed.map((line) => {
      const [name, epoch, version, arch, source] = line.split(' ');
      const e = epoch === '0' ? '' : `&epoch=${epoch}`;
      return `pkg:rpm/fedora/${name}@${version}?arch=${arch}&distro=fedora-39${e}&upstream=${source}`;
    });
    expect(purls.sort()).toEqual(expected.sort());
    expect(purls).toContain(
      'pkg:rpm/fedora/tinytool@1.4.2-3.fc39?arch=x86_64&distro=fedora-39&epoch=2&upstream=tinytool-1.4.2-3.fc39.src.rpm',
    );
    const tool = (doc.packages as Obj[]).find((p) => p.name === 'tinytool')!;
    expect(tool).toMatchObject({
      versionInfo: '2:1.4.2-3.fc39',
      licenseDeclared: 'MIT AND (GPL-2.0-or-later OR BSD-3-Clause)',
    });
    expect(validators().spdx(doc)).toEqual([]);
  });

  it('CycloneDX has the same packages with their licences; valid CycloneDX 1.5', async () => {
    const doc = await sbom('cyclonedx');
    const rpms = (doc.components as Obj[]).filter((c) => String(c.purl).startsWith('pkg:rpm/'));
    expect(rpms.map((c) => `${c.name} ${c.version}`).sort()).toEqual([
      'tinydata 0.9-1.fc39',
      'tinytool 2:1.4.2-3.fc39',
    ]);
    expect(validators().cyclonedx(doc)).toEqual([]);
    await expect(readFile(join(layout, 'index.json'), 'utf8')).resolves.toContain('application/spdx+json');
  });
});
