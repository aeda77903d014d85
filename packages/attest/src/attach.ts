/**
 * The referrers of one platform image: its SPDX and CycloneDX SBOMs and its SLSA provenance statement,
 * as OCI 1.1 artifact manifests whose subject is the image manifest (oci's `artifact`).
 */
import { type Artifact, artifact } from '@scratchpack/oci';
import { CYCLONEDX_MEDIA_TYPE, cyclonedxJson } from './cyclonedx.ts';
import type { ImageInputs } from './inputs.ts';
import { IN_TOTO_MEDIA_TYPE, provenanceJson, SLSA_PROVENANCE_V1 } from './provenance.ts';
import { SPDX_MEDIA_TYPE, spdxJson } from './spdx.ts';

export const PREDICATE_TYPE_ANNOTATION = 'in-toto.io/predicate-type';

export interface AttachOptions {
  sbom?: boolean;
  provenance?: boolean;
}

/** SPDX, CycloneDX (unless `sbom: false`) and provenance (unless `provenance: false`) for one image. */
export function attestations(i: ImageInputs, o: AttachOptions = {}): Artifact[] {
  const annotations = { 'org.opencontainers.image.created': i.created };
  const one = (type: string, bytes: Buffer, extra: Record<string, string> = {}) =>
    artifact({
      artifactType: type,
      subject: i.subject,
      layers: [{ mediaType: type, bytes }],
      annotations: { ...annotations, ...extra },
    });
  const out: Artifact[] = [];
  if (o.sbom !== false) {
    out.push(one(SPDX_MEDIA_TYPE, spdxJson(i)));
    out.push(one(CYCLONEDX_MEDIA_TYPE, cyclonedxJson(i)));
  }
  if (o.provenance !== false) {
    out.push(one(IN_TOTO_MEDIA_TYPE, provenanceJson(i), { [PREDICATE_TYPE_ANNOTATION]: SLSA_PROVENANCE_V1 }));
  }
  return out;
}
