/**
 * The referrers of one platform image: its SPDX and CycloneDX SBOMs and its SLSA provenance statement,
 * as OCI 1.1 artifact manifests whose subject is the image manifest (oci's `artifact`).
 */
import { type Artifact, type ArtifactLayer, artifact } from '@scratchpack/oci';
import { CYCLONEDX_MEDIA_TYPE, cyclonedxBlob } from './cyclonedx.ts';
import type { ImageInputs } from './inputs.ts';
import { IN_TOTO_MEDIA_TYPE, provenanceJson, SLSA_PROVENANCE_V1 } from './provenance.ts';
import { SPDX_MEDIA_TYPE, spdxBlob } from './spdx.ts';

export const PREDICATE_TYPE_ANNOTATION = 'in-toto.io/predicate-type';

export interface AttachOptions {
  sbom?: boolean;
  provenance?: boolean;
}

/**
 * SPDX, CycloneDX (unless `sbom: false`) and provenance (unless `provenance: false`) for one image. Large SBOMs
 * (thousands of files) are file-backed blobs (`documentBlob`), not held in memory.
 */
export async function attestations(i: ImageInputs, o: AttachOptions = {}): Promise<Artifact[]> {
  const annotations = { 'org.opencontainers.image.created': i.created };
  type Body = { bytes: Buffer } | { file: string; digest: string; size: number };
  const one = (type: string, body: Body, extra: Record<string, string> = {}) =>
    artifact({
      artifactType: type,
      subject: i.subject,
      layers: [{ mediaType: type, ...body } as ArtifactLayer],
      annotations: { ...annotations, ...extra },
    });
  const out: Artifact[] = [];
  if (o.sbom !== false) {
    out.push(one(SPDX_MEDIA_TYPE, await spdxBlob(i)));
    out.push(one(CYCLONEDX_MEDIA_TYPE, await cyclonedxBlob(i)));
  }
  if (o.provenance !== false) {
    const bytes = provenanceJson(i);
    out.push(one(IN_TOTO_MEDIA_TYPE, { bytes }, { [PREDICATE_TYPE_ANNOTATION]: SLSA_PROVENANCE_V1 }));
  }
  return out;
}
