/**
 * Finding a program on `PATH`, the one way every part of scratchpack does it (zig, the qemu-user binaries,
 * bubblewrap, the tools tests and release scripts need). A package of its own, on Node built-ins only, so that
 * toolchain and the test helpers (which toolchain's tests use) can both depend on it.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** True when `path` may be executed by this process. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of the first `name` in the directories of `env.PATH` (empty entries skipped) that `usable`
 * accepts (default: executable), or undefined.
 */
export function findOnPath(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  usable: (path: string) => boolean = isExecutable,
): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (usable(candidate)) return candidate;
  }
  return undefined;
}
