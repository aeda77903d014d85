/**
 * The default flags for programs that use the C library (`scratchpack build --c-source`, the httpd example):
 * `SMALL_STATIC_FLAGS` plus a few link-time trims that change nothing a program can observe. Why each is
 * there, and what was measured, is in the toolchain README ("Default --c-source flags").
 */
import { SMALL_STATIC_FLAGS } from './compile.ts';
import { HASHED_FILES_DIR, hashedFile } from './hashed-file.ts';
import type { PlatformSpec } from './platforms.ts';

/**
 * A linker script that only drops non-loaded sections (INSERT keeps lld's default layout): `.comment`
 * (zig's clang and lld version strings, from every libc object), MIPS `.pdr`/`.mdebug.*` (procedure
 * descriptors for debuggers: 19 KiB of a 26 KiB mips64le hello), and the RISC-V and PowerPC build
 * attributes (for linkers and tools; the kernel never reads them). ARM's attributes are kept: they name
 * the CPU variant, which `readelf -A` shows.
 */
export const C_SOURCE_LINKER_SCRIPT = `/* scratchpack: drop sections no program reads at run time */
SECTIONS
{
  /DISCARD/ : { *(.comment) *(.pdr) *(.mdebug.*) *(.riscv.attributes) *(.gnu.attributes) }
}
INSERT AFTER .bss;
`;

/**
 * The linker script as a file, at a path named after its contents (so the same flags, and zig's cache,
 * apply in every folder and from the bundled CLI). Written once, by temp name and rename.
 */
export function cSourceLinkerScript(dir = HASHED_FILES_DIR): string {
  return hashedFile('c-source', '.ld', C_SOURCE_LINKER_SCRIPT, dir);
}

/**
 * Link-time flags on top of `SMALL_STATIC_FLAGS` for every platform: no PT_GNU_RELRO (in a static musl
 * program nothing would mprotect it: only a dynamic loader applies RELRO; it costs a segment and its
 * padding), and the linker script above.
 */
export const C_SOURCE_LINK_FLAGS: readonly string[] = Object.freeze(['-Wl,-z,norelro']);

/**
 * Platforms where zig's default link-time optimisation (on for -Os: musl itself comes as bitcode) gives a
 * larger program than musl's native objects: its whole-program code for POWER and RISC-V keeps more
 * (e.g. riscv64's icache-flush vDSO lookup). Measured with the bench's libc hello.
 */
export const NO_LTO_PLATFORMS: readonly string[] = Object.freeze([
  'linux/ppc64',
  'linux/ppc64le',
  'linux/riscv64',
]);

/** The default flags for a libc-using C program on `p` (user `--cflag`s go after these). */
export function cSourceFlags(p: PlatformSpec, linkerScript = cSourceLinkerScript()): readonly string[] {
  return [
    ...SMALL_STATIC_FLAGS,
    ...C_SOURCE_LINK_FLAGS,
    `-Wl,-T,${linkerScript}`,
    ...(NO_LTO_PLATFORMS.includes(p.name) ? ['-fno-lto'] : []),
  ];
}
