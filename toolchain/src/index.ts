export {
  C_SOURCE_LINK_FLAGS,
  C_SOURCE_LINKER_SCRIPT,
  cSourceFlags,
  cSourceLinkerScript,
  NO_LTO_PLATFORMS,
} from './c-source.ts';
export {
  type CompileAllOptions,
  CompileError,
  type CompileOptions,
  type CompileProgramOptions,
  type CompileResult,
  compile,
  compileAll,
  compileArgs,
  compileProgram,
  SMALL_STATIC_FLAGS,
} from './compile.ts';
export {
  findPlatform,
  PLATFORMS,
  PlatformError,
  type PlatformSpec,
  parsePlatformList,
  requireBuildable,
  SUPPORTED_PLATFORMS,
} from './platforms.ts';
export { QemuMissingError, type QemuOptions, qemuFor, type Runner, runArgv } from './qemu.ts';
export {
  PINNED_ZIG,
  type ResolveZigOptions,
  resolveZig,
  whyNotExecutable,
  type ZigCandidate,
  type ZigInfo,
  ZigNotFoundError,
  type ZigSource,
} from './zig.ts';
