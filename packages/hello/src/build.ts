/** How hello is compiled: one source, no libc, the small-static flags, and the platform name baked in. */
import { join } from 'node:path';
import {
  type CompileAllOptions,
  cSourceLinkerScript,
  type PlatformSpec,
  SMALL_STATIC_FLAGS,
} from '@scratchpack/toolchain';

/** The source, relative to the package root (relative paths keep outputs free of build folders). */
export const HELLO_SOURCE = 'src/hello.c';

/**
 * Flags for every platform: `SMALL_STATIC_FLAGS`, then what a program without a C library needs.
 * Why each one is there, and what it saves, is in README.md.
 */
export const HELLO_FLAGS: readonly string[] = Object.freeze([
  ...SMALL_STATIC_FLAGS,
  // No crt1.o, no libc: hello.c brings its own _start and system calls.
  '-nostdlib',
  // No compiler-rt either: nothing in hello calls it, and zig 0.14 would otherwise build it for every
  // target on a cold cache (most of a cold `pnpm build:images`) only for the linker to drop it all.
  '-rtlib=none',
  // lld's default entry on MIPS is `__start`; name ours on every platform.
  '-Wl,--entry=_start',
  // zig turns on LTO for -Os; its link-time code generation drops the -mcpu build attributes on ARM
  // (Tag_CPU_arch v4T instead of v5TE) and MIPS, and leaves `.TOC.` undefined on ppc64le.
  '-fno-lto',
  // No "clang version … (https://github.com/ziglang/…)" string in .comment.
  '-fno-ident',
  // No PT_GNU_RELRO: without a dynamic loader or libc nobody would mprotect it; saves a segment on
  // ppc64le and 386.
  '-Wl,-z,norelro',
]);

/**
 * Extra flags for MIPS (every MIPS platform): plain non-PIC code. _start is entered with no $t9/$gp set
 * up, so nothing may go through the GOT (zig cannot turn off clang's default PIC/abicalls code otherwise).
 */
export const HELLO_MIPS_FLAGS: readonly string[] = Object.freeze(['-mno-abicalls']);

/**
 * All compiler flags for one platform. The toolchain's discard-only linker script (as for --c-source) drops
 * `.comment` (lld's version string), MIPS `.pdr` and the RISC-V/PowerPC attributes.
 */
export const helloFlags = (p: PlatformSpec): readonly string[] => [
  ...HELLO_FLAGS,
  ...(p.zigTarget.startsWith('mips') ? HELLO_MIPS_FLAGS : []),
  `-Wl,-T,${cSourceLinkerScript()}`,
];

/** The C string literal that names the platform in the message, e.g. `"linux/arm64/v8"`. */
export const platformDefine = (p: PlatformSpec): Record<string, string> => ({
  SCRATCHPACK_PLATFORM: JSON.stringify(p.name),
});

/** Compile options for every platform; the caller adds `platforms` and `out`. */
export function helloCompileOptions(packageRoot: string): Omit<CompileAllOptions, 'platforms' | 'out'> {
  return {
    sources: [HELLO_SOURCE],
    cwd: packageRoot,
    flags: helloFlags,
    defines: platformDefine,
  };
}

/** Where the compile step leaves a platform's binary: its build context for the Dockerfile. */
export const helloBinary = (packageRoot: string, p: PlatformSpec): string =>
  join(packageRoot, 'dist', p.label, 'hello');
