/**
 * SBOMs and provenance of a static base: per platform image, the Debian packages as `pkg:deb` purls with the
 * licences their copyright files name, and every file of the shared layer with its digests.
 */
import { attestations, type ImageInputs } from '@scratchpack/attest';
import { type Artifact, formatPlatform, imageDescriptor, layerFiles, rfc3339 } from '@scratchpack/oci';
import type { StaticBase } from './image.ts';

export interface BaseAttestOptions {
  /** The tool the documents name, e.g. `{ name: 'scratchpack', version: '0.1.0' }`. */
  tool: { name: string; version: string };
  /** Repository name recorded in the documents; default `static`. */
  imageName?: string;
  tags: string[];
  format: string;
  sourceDateEpoch: number;
  sbom?: boolean;
  provenance?: boolean;
}

export async function baseAttestations(base: StaticBase, o: BaseAttestOptions): Promise<Artifact[]> {
  if (o.sbom === false && o.provenance === false) return [];
  const files = (await layerFiles(base.layer)).map((f) => ({ path: f.path, sha256: f.sha256, sha1: f.sha1 }));
  const platforms = base.images.map((i) => formatPlatform(i.platform));
  const out: Artifact[] = [];
  for (const { image, platform } of base.images) {
    const inputs: ImageInputs = {
      name: o.imageName ?? 'static',
      named: o.imageName !== undefined,
      platform: formatPlatform(platform),
      subject: await imageDescriptor(image),
      created: rfc3339(o.sourceDateEpoch),
      sourceDateEpoch: o.sourceDateEpoch,
      tool: o.tool,
      request: { platforms, buildArgs: {}, labels: {}, annotations: {}, tags: o.tags, format: o.format },
      parents: [],
      imports: [],
      files,
      programs: [],
      packages: base.packages.map(({ name, version, purl, licenses }) => ({ name, version, purl, licenses })),
    };
    out.push(...(await attestations(inputs, { sbom: o.sbom !== false, provenance: o.provenance !== false })));
  }
  return out;
}
