/**
 * How httpd is compiled: one C source against musl (zig's libc), the toolchain's default --c-source flags,
 * and the platform name baked in — exactly what `scratchpack build --c-source` does, so both give the same bytes.
 */
import { join } from 'node:path';
import { type CompileAllOptions, cSourceFlags, type PlatformSpec } from '@scratchpack/toolchain';

/** The source, relative to the package root (relative paths keep outputs free of build folders). */
export const HTTPD_SOURCE = 'src/httpd.c';

/** The C string literal that names the platform in the page, e.g. `"linux/arm64/v8"`. */
export const httpdDefines = (p: PlatformSpec): Record<string, string> => ({
  SCRATCHPACK_PLATFORM: JSON.stringify(p.name),
});

/** Compile options for every platform; the caller adds `platforms` and `out`. */
export function httpdCompileOptions(packageRoot: string): Omit<CompileAllOptions, 'platforms' | 'out'> {
  return { sources: [HTTPD_SOURCE], cwd: packageRoot, flags: (p) => cSourceFlags(p), defines: httpdDefines };
}

/** Where the compile step leaves a platform's binary: its build context for the Dockerfile. */
export const httpdBinary = (packageRoot: string, p: PlatformSpec): string =>
  join(packageRoot, 'dist', p.label, 'httpd');
