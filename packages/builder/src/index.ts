export { type AttestRequest, TOOL, type Tool } from './attest.ts';
export { type BuildOptions, type BuildResult, type BuiltImage, build } from './build.ts';
export { BuildInputError } from './errors.ts';
export { ForeignBinaryError, ForeignFiles } from './foreign.ts';
export { type PackageImageOptions, packageImage, summary } from './package-image.ts';
export {
  cacheHome,
  localParent,
  type ParentInfo,
  type ParentOptions,
  ParentResolver,
} from './parents.ts';
export { pickImage } from './pick.ts';
export { matrixPlatform, matrixPlatforms } from './platforms.ts';
export { type ProgramOptions, parseBinaryFlags, type StagedProgram, stageProgram } from './program.ts';
export {
  type ArchiveOptions,
  archivePublisher,
  layoutPublisher,
  multi,
  type Published,
  type Publisher,
  type PublishOptions,
  registryPublisher,
} from './publish.ts';
export { expandTemplate, PLACEHOLDERS } from './template.ts';
