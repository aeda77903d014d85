export { findOnPath, isExecutable } from '@scratchpack/which';
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
  checkStaticBinary,
  describeElf,
  EF_ARM_ABI_FLOAT_HARD,
  EF_ARM_ABI_FLOAT_SOFT,
  EF_MIPS_ABI,
  EF_MIPS_ABI_O32,
  EF_MIPS_ABI2,
  ELF_HEADER_BYTES,
  ELF_MACHINES,
  ElfError,
  type ElfHeader,
  type ElfInfo,
  elfMismatch,
  expectedElf,
  objectSymbols,
  parseElf,
  parseElfHeader,
  staticHint,
} from './elf.ts';
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
export { STARTUP_MEM_SOURCE, STARTUP_ONLY_CALLS, startupMemSource, startupOnlyMem } from './startup-mem.ts';
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
export { sharedZigLibDir, sharedZigLibPath } from './zig-lib.ts';
