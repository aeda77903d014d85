/**
 * memcpy and memset for programs that only need them to start. musl's start-up copies the TLS image and clears
 * its aux vector with them, so every libc program links both, and zig builds musl's C versions for speed: on
 * POWER8 they are 2.4 KiB of unrolled vector code, a third of a hello-world. A program whose own code calls
 * nothing but plain system-call wrappers (write, read, exit…) uses them only there, on a few hundred bytes, once;
 * for such a program these byte loops (about 100 bytes) take their place. A program that calls memcpy, memset or
 * memmove itself, or any other C library function (printf, malloc, string functions… which copy in loops), keeps
 * musl's: nothing it does at run time gets slower. The choice is made from the program's own object files
 * (`objectSymbols`), so it is a function of the sources and flags: the same inputs give the same bytes.
 */
import { HASHED_FILES_DIR, hashedFile } from './hashed-file.ts';

/**
 * The byte loops. `no_builtin` stops clang from turning each loop back into a call to itself; the loop pragmas
 * and `noinline` keep them loops (link-time optimisation otherwise vectorises and inlines them into kilobytes).
 */
export const STARTUP_MEM_SOURCE = `/* scratchpack: memcpy and memset for a program that needs them only to start */
#include <stddef.h>

__attribute__((no_builtin, noinline)) void *memcpy(void *restrict dest, const void *restrict src, size_t n)
{
	unsigned char *d = dest;
	const unsigned char *s = src;
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
	while (n--) *d++ = *s++;
	return dest;
}

__attribute__((no_builtin, noinline)) void *memset(void *dest, int c, size_t n)
{
	unsigned char *d = dest;
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
	while (n--) *d++ = (unsigned char)c;
	return dest;
}
`;

/**
 * C library functions that copy nothing in loops (system-call wrappers, exit, errno), so a program calling
 * only these calls memcpy and memset only from musl's start-up.
 */
export const STARTUP_ONLY_CALLS: ReadonlySet<string> = new Set([
  'write',
  'read',
  'writev',
  'readv',
  'pread',
  'pwrite',
  'open',
  'openat',
  'close',
  'syscall',
  'exit',
  '_exit',
  '_Exit',
  'getpid',
  'getppid',
  'getuid',
  'geteuid',
  'getgid',
  'getegid',
  '__errno_location',
  'strlen',
]);

/** Symbols the linker itself provides (PowerPC's `.TOC.`, the GOT, MIPS' `_gp_disp`…): not calls. */
function linkerProvided(name: string): boolean {
  return (
    name.startsWith('.') ||
    name === '_GLOBAL_OFFSET_TABLE_' ||
    name === '_gp_disp' ||
    name === '__global_pointer$' ||
    name === '_DYNAMIC' ||
    name === '__ehdr_start'
  );
}

/**
 * Whether a program whose object files leave `unresolved` undefined (its calls into the C library and the
 * linker's symbols) uses memcpy and memset only through musl's start-up; `defined`: the symbols they define
 * (`main` and the program's own functions), where a memcpy or memset of the program's own rules it out.
 */
export function startupOnlyMem(unresolved: readonly string[], defined: readonly string[] = []): boolean {
  // A program with a memcpy or memset of its own (freestanding code) keeps it: a second one would not link.
  if (defined.includes('memcpy') || defined.includes('memset')) return false;
  return unresolved.every((name) => linkerProvided(name) || STARTUP_ONLY_CALLS.has(name));
}

/**
 * `STARTUP_MEM_SOURCE` as a file zig can compile, under `dir` (default: the temp dir), named by its hash so the
 * path in a compile's command line is always the same; written (temp name, then rename) only when missing or
 * different.
 */
export function startupMemSource(dir = HASHED_FILES_DIR): string {
  return hashedFile('startup-mem', '.c', STARTUP_MEM_SOURCE, dir);
}
