/**
 * @scratchpack/transport — one name, one image: the reference grammar every command uses, sources that
 * verify every byte they hand out, destinations, and the one copy pipeline between any two of them.
 */
export {
  type CopyOptions,
  copyImage,
  type PutOptions,
  type PutResult,
  putImage,
  sourceReferrers,
  subjectDigests,
} from './copy.ts';
export { TransportError, type TransportErrorCode } from './errors.ts';
export { dockerConfigPath, login, logout } from './login.ts';
export {
  describeRef,
  type ImageRef,
  type ParseOptions,
  parseImageRef,
  parseOutputRef,
  type RefKind,
} from './ref.ts';
export { type OpenOptions, openSource, type Source } from './source.ts';
export { type ContentCheck, checkContents } from './verify.ts';
