/**
 * The SBOM of a real Debian import lists its dpkg packages as scanners (grype, trivy) match them: the
 * mmdebstrap bookworm rootfs (cached, see debian-rootfs.ts) is imported, and its SPDX and CycloneDX
 * documents must name ≥ 95 % of what `dpkg-query --admindir=ROOTFS/var/lib/dpkg -W` lists, with the same
 * versions, as `pkg:deb/debian/…&distro=debian-12` purls; both documents validate against their schemas, and
 * the layout against the image-spec v1.1.1 schemas.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { validators } from '../../../packages/attest/test/helpers.ts';
import { layoutSchemaProblems } from '../../../packages/oci/test/image-spec.ts';
import { debianRootfs } from './debian-rootfs.ts';
import { cli } from './helpers.ts';

type Obj = Record<string, unknown>;

describeWithTools(['mmdebstrap', 'tar', 'dpkg-query'], 'the SBOM of an imported Debian rootfs', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let layout: string;
  let dpkg: Map<string, string>;
  const blob = async (digest: string) => readFile(join(layout, 'blobs', 'sha256', digest.slice(7)));
  /** The document of the referrer with `artifactType`. */
  const document = async (artifactType: string): Promise<Obj> => {
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Obj[] };
    const entry = index.manifests.find((m) => m.artifactType === artifactType)!;
    const manifest = JSON.parse((await blob(entry.digest as string)).toString());
    return JSON.parse((await blob(manifest.layers[0].digest)).toString());
  };

  beforeAll(async () => {
    const tar = await debianRootfs({ variant: 'minbase', arch: 'amd64' });
    work = await tempDir('debian-sbom-');
    layout = join(work.path, 'layout');
    const rootfs = join(work.path, 'rootfs');
    await mkdir(rootfs);
    execFileSync('tar', ['-xf', tar, '-C', rootfs, './var/lib/dpkg']);
    const format = ['$', '{Package}\t$', '{Version}\n'].join(''); // dpkg-query's placeholders, not JS ones
    const listed = execFileSync(
      'dpkg-query',
      [`--admindir=${join(rootfs, 'var/lib/dpkg')}`, '-W', '-f', format],
      { encoding: 'utf8' },
    );
    dpkg = new Map(
      listed
        .trim()
        .split('\n')
        .map((l) => l.split('\t') as [string, string]),
    );
    const r = await cli(['import', tar, `${layout}:bookworm`, '--platform', 'linux/amd64', '--json'], {
      timeout: 600_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    imported = JSON.parse(r.stdout);
    tarSum = execFileSync('sha256sum', [tar], { encoding: 'utf8' }).slice(0, 64);
  }, 900_000);
  let imported: { diffId: string; tar: string };
  let tarSum: string;

  it("keeps the tar's bytes: the layer's diff_id is sha256sum of the mmdebstrap tar (the packages are read from them)", () => {
    expect(imported).toMatchObject({ tar: 'kept', diffId: `sha256:${tarSum}` });
  });
  afterAll(() => work?.cleanup());

  it('SPDX: ≥ 95 % of the dpkg packages, same versions, as pkg:deb purls of debian-12; valid SPDX 2.3', async () => {
    const doc = (await document('application/spdx+json')) as { packages: Obj[]; files?: Obj[] };
    const found = new Map<string, { version: string; purl: string }>();
    for (const p of doc.packages) {
      const purl = (p.externalRefs as { referenceLocator: string }[] | undefined)?.find((r) =>
        r.referenceLocator.startsWith('pkg:deb/'),
      )?.referenceLocator;
      if (purl) found.set(p.name as string, { version: p.versionInfo as string, purl });
    }
    expect(dpkg.size).toBeGreaterThan(50);
    const same = [...dpkg].filter(([name, version]) => found.get(name)?.version === version);
    expect(same.length / dpkg.size).toBeGreaterThanOrEqual(0.95);
    expect(found.get('libc6')?.purl).toMatch(
      /^pkg:deb\/debian\/libc6@2\.36-[^?]+\?arch=amd64&distro=debian-12&upstream=glibc$/,
    );
    expect(doc.packages).toContainEqual(
      expect.objectContaining({
        name: 'debian',
        versionInfo: '12',
        primaryPackagePurpose: 'OPERATING_SYSTEM',
      }),
    );
    // No per-file entries for a distribution: its packages describe it.
    for (const f of doc.files ?? [])
      expect((f.checksums as { algorithm: string }[]).map((c) => c.algorithm)).toContain('SHA1');
    expect(validators().spdx(doc)).toEqual([]);
  });

  it('the imported layout (index, manifests, configs, referrers) validates against image-spec v1.1.1', async () => {
    expect(await layoutSchemaProblems(layout)).toEqual([]);
  });

  it('CycloneDX: the same packages as library components with purls; valid CycloneDX 1.5', async () => {
    const doc = (await document('application/vnd.cyclonedx+json')) as { components: Obj[] };
    const libs = doc.components.filter((c) => (c.purl as string | undefined)?.startsWith('pkg:deb/debian/'));
    const same = [...dpkg].filter(([name, version]) =>
      libs.some((c) => c.name === name && c.version === version),
    );
    expect(same.length / dpkg.size).toBeGreaterThanOrEqual(0.95);
    expect(validators().cyclonedx(doc)).toEqual([]);
  });
});
