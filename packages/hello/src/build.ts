/** How hello is compiled: one source, the small-static flags, and the platform name baked in. */
import { join } from 'node:path';
import { type CompileAllOptions, type PlatformSpec, SMALL_STATIC_FLAGS } from '@scratchpack/toolchain';

/** The source, relative to the package root (relative paths keep outputs free of build folders). */
export const HELLO_SOURCE = 'src/hello.c';

/** The C string literal that names the platform in the message, e.g. `"linux/arm64/v8"`. */
export const platformDefine = (p: PlatformSpec): Record<string, string> => ({
  SCRATCHPACK_PLATFORM: JSON.stringify(p.name),
});

/** Compile options for every platform; the caller adds `platforms` and `out`. */
export function helloCompileOptions(packageRoot: string): Omit<CompileAllOptions, 'platforms' | 'out'> {
  return {
    sources: [HELLO_SOURCE],
    cwd: packageRoot,
    flags: SMALL_STATIC_FLAGS,
    defines: platformDefine,
  };
}

/** Where the compile step leaves a platform's binary: its build context for the Dockerfile. */
export const helloBinary = (packageRoot: string, p: PlatformSpec): string =>
  join(packageRoot, 'dist', p.label, 'hello');
