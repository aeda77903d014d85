/**
 * @scratchpack/base — static base images from pinned Debian packages: the lock, fetching and verifying
 * `.deb`s from the machine's apt mirrors (cached by digest), unpacking them without maintainer scripts, and
 * one architecture-independent layer shared by every platform.
 */

export { type BaseAttestOptions, baseAttestations } from './attest.ts';
export { CA_BUNDLE, caBundle, NONROOT_UID } from './contents.ts';
export { type DebContents, type DebEntry, readDeb } from './deb.ts';
export { BaseError, type BaseErrorCode } from './errors.ts';
export { debCacheDir, fetchDeb } from './fetch.ts';
export {
  type BasePackage,
  debPurl,
  type StaticBase,
  type StaticBaseOptions,
  staticBase,
} from './image.ts';
export { defaultLock, formatLock, type Lock, type LockedPackage, parseLock, readLock } from './lock.ts';
export { lockDiff, parsePackages, refreshLock } from './refresh.ts';
export { type AptSource, aptSources, parseDeb822, parseSourcesList } from './sources.ts';
export { compareDebVersions } from './version.ts';
