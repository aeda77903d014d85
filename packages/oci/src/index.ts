/**
 * @scratchpack/oci — the image library: immutable, accessor-only images, layers and indexes
 * (modelled on go-containerregistry pkg/v1), deterministic layers, layouts, archives, validation.
 */

export { abortable, abortableSleep, allowManyAbortListeners, asAborted, throwIfAborted } from './abort.ts';
export { type WriteArchiveOptions, writeArchive, writeArchiveTo } from './archive.ts';
export { ARCHIVE_INDEX, type ArchiveIndex, archiveIndex, fullArchiveIndex } from './archive-index.ts';
export { tempPathFor, writeFileAtomic, writeFileAtomicSync, writeThroughTemp } from './atomic-file.ts';
export {
  AbortedError,
  type ErrorJson,
  errorJson,
  ScratchpackError,
  type ScratchpackErrorOptions,
} from './base-error.ts';
export { type CheckedChunksOptions, checkedFileChunks } from './blob-file.ts';
export { type BlobSource, BlobStore, type WriteBlobOptions, writeBlob } from './blob-store.ts';
export { ChunkPool } from './chunk-pool.ts';
export { chunksOf } from './chunks.ts';
export {
  Digest,
  digestStream,
  type FileDigests,
  FileHasher,
  Hasher,
  HashingStream,
  sha256,
  VerifyingStream,
  verifiedStream,
} from './digest.ts';
export { type EmptyImageOptions, emptyImage, scratch } from './empty.ts';
export * from './errors.ts';
export {
  type Image,
  type ImageParts,
  imageDescriptor,
  imageFromParts,
  imageFromRaw,
  toParts,
} from './image.ts';
export {
  type ImageIndex,
  type ImageIndexOptions,
  type IndexEntry,
  imageForPlatform,
  imageIndex,
  indexFromRaw,
  platformOfImage,
} from './image-index.ts';
export { type ImageName, isImageName, isRegistryHost, parseImageName } from './image-name.ts';
export {
  type BlobLayerInfo,
  type Layer,
  layerFromBlob,
  layerFromCompressedBuffer,
  layerFromCompressedFile,
  uncompressed,
  withLayerMediaType,
} from './layer.ts';
export {
  cleanPath,
  type LayerEntry,
  normalizeEntries,
  OPAQUE_MARKER,
  WHITEOUT_PREFIX,
} from './layer-entries.ts';
export { type LayerFile, layerFiles, readLayerFiles } from './layer-files.ts';
export {
  CONTAINERD_NAME,
  isImageIndex,
  type Layout,
  loadDescriptor,
  parseIndexJson,
  parseLayoutRef,
  REF_NAME,
  readLayout,
  type WriteLayoutOptions,
  type WriteLayoutResult,
  writeLayout,
  writeLayoutRefs,
} from './layout.ts';
export {
  type LayoutRef,
  mergeRefs,
  readIndexFile,
  sweepLayoutTemps,
  type UpdateIndexOptions,
  updateLayoutIndex,
  withManifests,
} from './layout-update.ts';
export { mapLimit } from './limit.ts';
export { LOCK_FILE, type LockOptions, withLayoutLock } from './lock.ts';
export * from './media-types.ts';
export {
  type Addendum,
  appendHistory,
  appendLayers,
  withAnnotations,
  withConfig,
  withConfigFile,
  withCreated,
  withMediaTypeFamily,
  withPlatform,
} from './mutate.ts';
export {
  DEFAULT_GZIP_LEVEL,
  GZIP_BLOCK_SIZE,
  isGzipMagic,
  type ParallelGzipOptions,
  parallelGzip,
} from './parallel-gzip.ts';
export { PlatformNotFoundError, pickPlatform } from './pick.ts';
export * from './platform.ts';
export { platformTag, writePlatformTags } from './platform-tags.ts';
export {
  type Artifact,
  type ArtifactBlob,
  type ArtifactLayer,
  artifact,
  artifactFromRaw,
  EMPTY_DESCRIPTOR,
  EMPTY_JSON,
  layoutReferrers,
  layoutReferrersOf,
  loadArtifact,
  referrersIndex,
  referrersTag,
  subjectDescriptor,
  walkReferrers,
  writeReferrers,
} from './referrers.ts';
export { dirLookup, type ImageLookup, resolveInRoot, resolveParts } from './root-path.ts';
export {
  type ExtractReport,
  extractLayer,
  extractRootfs,
  RootfsNotEmptyError,
  type WhiteoutMarkers,
} from './rootfs.ts';
export { type RootfsFilesOptions, readRootfsFiles } from './rootfs-files.ts';
// Shape checks of documents from outside (layouts, registries), before any field is used.
export {
  type BadIndexEntry,
  badIndexEntries,
  descriptorProblems,
  MAX_MANIFEST_BYTES,
  parseImageManifest,
  parseIndexManifest,
  validateDocumentShape,
  validateIndexShape,
  validateManifestShape,
} from './schema.ts';
export { ContentSpool } from './spool.ts';
export {
  defaultStoreDir,
  ImageStore,
  type ImageStoreOptions,
  type RemoveResult,
  reachableBlobs,
  type StoredImage,
} from './store.ts';
export { type LoadResult, loadArchive, unpackArchive } from './store-archive.ts';
export { layoutDiffIds } from './store-diff-ids.ts';
export * from './store-errors.ts';
export { LEASES_DIR, type Lease, liveLeases, takeLease, withLease } from './store-leases.ts';
export {
  type ImportedTar,
  type ImportTarOptions,
  importTarLayer,
  layerFromTarStream,
  type ReadTarOptions,
  readTarEntries,
  spoolTarEntries,
} from './tar-import.ts';
export { keepTarLayer } from './tar-keep.ts';
export { type LayerOptions, layerFromEntries } from './tar-layer.ts';
export {
  isProcessDead,
  removeTrackedTemps,
  sweepDeadTemps,
  trackedTemps,
  trackTemp,
  untrackTemp,
} from './temp-files.ts';
export { parseSourceDateEpoch, rfc3339 } from './time.ts';
export type * from './types.ts';
export { serializeConfig, serializeManifest } from './types.ts';
export {
  freeSpaceMargin,
  type UnpackBudget,
  UnpackTooLargeError,
  unpackBudget,
} from './unpack-budget.ts';
export { type ValidationReport, validateImage, validateIndex, validateLayout } from './validate.ts';
