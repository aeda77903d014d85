/**
 * Media types of the OCI and Docker v2 families, and conversion between them (OCI-NOTES #4, #5).
 * A manifest, its config and its layers always belong to one family; an OCI index only lists OCI
 * manifests and a Docker manifest list only Docker ones.
 */
import { MediaTypeError } from './errors.ts';

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export type MediaType = (typeof MediaTypes)[keyof typeof MediaTypes] | (string & {});

/** The two families of manifest media types. */
export type Family = 'oci' | 'docker';

export function isIndex(mt: string): boolean {
  return mt === MediaTypes.ociIndex || mt === MediaTypes.dockerManifestList;
}

export function isManifest(mt: string): boolean {
  return mt === MediaTypes.ociManifest || mt === MediaTypes.dockerManifest;
}

export function isConfig(mt: string): boolean {
  return mt === MediaTypes.ociConfig || mt === MediaTypes.dockerConfig;
}

export function isLayer(mt: string): boolean {
  return (
    mt.startsWith('application/vnd.oci.image.layer.') || mt.startsWith('application/vnd.docker.image.rootfs.')
  );
}

/** True for layer media types whose blob is gzip-compressed. */
export function isGzipLayer(mt: string): boolean {
  return mt.endsWith('+gzip') || mt.endsWith('.tar.gzip');
}

/** True for layer media types whose blob is an uncompressed tar. */
export function isUncompressedLayer(mt: string): boolean {
  return mt.endsWith('.tar') || mt === MediaTypes.ociLayer;
}

/** The family a media type belongs to, or undefined for types outside both (e.g. artifacts). */
export function familyOf(mt: string): Family | undefined {
  if (mt.startsWith('application/vnd.oci.')) return 'oci';
  if (mt.startsWith('application/vnd.docker.')) return 'docker';
  return undefined;
}

const OCI_TO_DOCKER: Record<string, string> = {
  [MediaTypes.ociIndex]: MediaTypes.dockerManifestList,
  [MediaTypes.ociManifest]: MediaTypes.dockerManifest,
  [MediaTypes.ociConfig]: MediaTypes.dockerConfig,
  [MediaTypes.ociLayerGzip]: MediaTypes.dockerLayerGzip,
  [MediaTypes.ociLayerNondistributableGzip]: MediaTypes.dockerForeignLayerGzip,
};
const DOCKER_TO_OCI: Record<string, string> = Object.fromEntries(
  Object.entries(OCI_TO_DOCKER).map(([k, v]) => [v, k]),
);

/**
 * The equivalent media type in `family`. Throws `MediaTypeError` when there is none
 * (e.g. a zstd or uncompressed OCI layer has no Docker v2 equivalent).
 */
export function convertMediaType(mt: string, family: Family): string {
  if (familyOf(mt) === family) return mt;
  const table = family === 'docker' ? OCI_TO_DOCKER : DOCKER_TO_OCI;
  const out = table[mt];
  if (!out)
    throw new MediaTypeError(
      `media type ${mt} has no ${family === 'docker' ? 'Docker v2' : 'OCI'} equivalent`,
    );
  return out;
}

export function manifestMediaType(family: Family): string {
  return family === 'oci' ? MediaTypes.ociManifest : MediaTypes.dockerManifest;
}

export function indexMediaType(family: Family): string {
  return family === 'oci' ? MediaTypes.ociIndex : MediaTypes.dockerManifestList;
}

export function configMediaType(family: Family): string {
  return family === 'oci' ? MediaTypes.ociConfig : MediaTypes.dockerConfig;
}

export function gzipLayerMediaType(family: Family): string {
  return family === 'oci' ? MediaTypes.ociLayerGzip : MediaTypes.dockerLayerGzip;
}
