/**
 * @scratchpack/attest — supply-chain documents from the real build inputs: SPDX 2.3 and CycloneDX 1.5
 * SBOMs, SLSA provenance v1 in-toto statements, build info written by compile steps, and offline key
 * signatures as Sigstore bundles; each stored as an OCI 1.1 referrer of the manifest it is about.
 */
export { type AttachOptions, attestations, PREDICATE_TYPE_ANNOTATION } from './attach.ts';
export {
  BUILD_INFO_SUFFIX,
  BUILD_INFO_TYPE,
  type BuildInfo,
  buildInfos,
  bundledMuslVersion,
  type CompiledProgram,
  NOASSERTION,
  readBuildInfos,
  type SourceFile,
  writeBuildInfos,
  type ZigFacts,
} from './build-info.ts';
export { CYCLONEDX_MEDIA_TYPE, cyclonedxDocument, cyclonedxJson } from './cyclonedx.ts';
export { AttestError, type AttestErrorCode } from './errors.ts';
export {
  FILE_URI_ROOT,
  fileUri,
  type ImageInputs,
  type ListedPackage,
  npmPurl,
  ociPurl,
  programPurl,
  uuidV5,
} from './inputs.ts';
export { keyId, legacyKeyId, loadPrivateKey, loadPublicKey } from './keys.ts';
export {
  BUNDLE_MEDIA_TYPE,
  messageSignatureBundle,
  type SigstoreBundle,
  verifyMessageSignature,
} from './legacy-signature.ts';
export {
  type Distro,
  isPackageDbPath,
  muslCpe,
  muslPurl,
  type OsPackage,
  type OsPackages,
  osPackages,
  parseApkInstalled,
  parseDpkgStatus,
  parseOsRelease,
  parseRpmDb,
} from './os-packages.ts';
export {
  BUILD_TYPE,
  BUILDER_ID,
  IN_TOTO_MEDIA_TYPE,
  IN_TOTO_STATEMENT,
  provenanceJson,
  provenanceStatement,
  SLSA_PROVENANCE_V1,
  statement,
} from './provenance.ts';
export { parseRpmHeader, type RpmHeader, readRpmDb } from './rpm-db.ts';
export {
  BUNDLE_CONTENT_ANNOTATION,
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  COSIGN_SIGN_PREDICATE_TYPE,
  cosignSignStatement,
  pae,
  signDigest,
  signSubject,
  type Verified,
  verifyBundle,
} from './sign.ts';
export { SPDX_MEDIA_TYPE, spdxDocument, spdxJson } from './spdx.ts';
