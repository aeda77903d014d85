import { describe, expect, it } from 'vitest';
import { cyclonedxJson, spdxJson } from '../src/index.ts';
import { sampleInputs, validators } from './helpers.ts';

const { spdx, cyclonedx } = validators();
const parse = (b: Buffer) => JSON.parse(b.toString());
const packages = [
  {
    name: 'tzdata',
    version: '2026f-0+deb12u1',
    purl: 'pkg:deb/debian/tzdata@2026f-0%2Bdeb12u1?arch=all&distro=debian-12',
    licenses: ['public-domain'],
  },
  {
    name: 'ca-certificates',
    version: '20250419~deb12u2',
    purl: 'pkg:deb/debian/ca-certificates@20250419~deb12u2?arch=all&distro=debian-12',
    licenses: ['GPL-2+', 'MPL-2.0'],
  },
];

describe('distribution packages in the SBOMs (a static base)', () => {
  it('SPDX: each a package the image CONTAINS, with its purl and the licences named in a comment', () => {
    const doc = parse(spdxJson(sampleInputs({ packages })));
    expect(spdx(doc)).toEqual([]);
    const ca = doc.packages.find((p: { name: string }) => p.name === 'ca-certificates');
    expect(ca.externalRefs).toEqual([
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: packages[1]!.purl },
    ]);
    expect(ca.licenseComments).toBe("per the package's copyright file: GPL-2+, MPL-2.0");
    expect(doc.relationships).toContainEqual({
      spdxElementId: 'SPDXRef-Image',
      relationshipType: 'CONTAINS',
      relatedSpdxElement: ca.SPDXID,
    });
  });

  it('CycloneDX: each a library component with purl and licences, a dependency of the image', () => {
    const doc = parse(cyclonedxJson(sampleInputs({ packages })));
    expect(cyclonedx(doc)).toEqual([]);
    const tz = doc.components.find((c: { name: string }) => c.name === 'tzdata');
    expect(tz).toMatchObject({
      type: 'library',
      purl: packages[0]!.purl,
      licenses: [{ license: { name: 'public-domain' } }],
    });
    const image = doc.metadata.component['bom-ref'];
    expect(doc.dependencies.find((d: { ref: string }) => d.ref === image).dependsOn).toContain(tz['bom-ref']);
  });

  it('without packages the documents are as before', () => {
    expect(spdxJson(sampleInputs({ packages: [] }))).toEqual(spdxJson(sampleInputs()));
    expect(cyclonedxJson(sampleInputs({ packages: [] }))).toEqual(cyclonedxJson(sampleInputs()));
  });
});
