/**
 * Once per run of the integration files, before any of them: zig builds its musl libc (and compiler-rt) for every
 * supported platform, by compiling a one-line libc program for each with the flags of `--c-source` (`cSourceFlags`),
 * as the tests' libc programs are compiled: zig builds one libc per target, CPU and LTO setting (`-fno-lto` on
 * ppc64, ppc64le and riscv64 is a libc of its own).
 *
 * Once done it leaves a stamp in zig's cache, and every later run skips it (0.1 s). On an empty cache each
 * platform's libc is ~1,700 C files: minutes of CPU per platform. Left to the tests, several files compiled their
 * libc programs at once, each compile waiting on zig's cache lock for a libc another file was building, and a test
 * hit its timeout waiting (`--c-source ... runs on every platform`: 300 s). Built here first, in bounded parallel, no
 * test waits on it, and no compile is repeated. Nothing is weakened: each test still compiles its own programs.
 *
 * A run narrowed to some files (`vitest run apps/cli/test/programs.int.test.ts`) skips this: its compiles wait on no
 * other file's, and a developer running one file on a new machine waits only for the libcs that file needs.
 *
 * A failure here fails nothing: the tests that compile report it themselves, each with its own error.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compileAll,
  cSourceFlags,
  resolveZig,
  SUPPORTED_PLATFORMS,
  sharedZigLibPath,
  type ZigInfo,
} from '@scratchpack/toolchain';

/** vitest options that take a value (`--project integration`): their values are not file filters. */
const VALUE_OPTIONS = new Set([
  '--project',
  '--reporter',
  '-t',
  '--testNamePattern',
  '--maxWorkers',
  '--root',
  '-r',
]);

/** The file filters on a vitest command line (`vitest run a.test.ts --project x` → `a.test.ts`). */
export function fileFilters(argv: readonly string[]): string[] {
  const script = argv.findIndex((a) => /vitest(\.m?js)?$/.test(a));
  const args = argv.slice(script === -1 ? 2 : script + 1);
  const filters: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('-')) {
      if (VALUE_OPTIONS.has(a)) i++;
    } else if (!(i === 0 && ['run', 'watch', 'dev', 'related'].includes(a))) filters.push(a);
  }
  return filters;
}

/** How long the warm-up runs quietly without a platform finishing: with its libc cached, one links in about a second. */
const QUIET_MS = 10_000;

/**
 * Calls `tell` once `ms` pass without `progress()` (counted from the start, then from each progress): a platform
 * whose libc is cached links in about a second, so a warm cache without the stamp stays quiet however many
 * platforms there are, and a libc being built (minutes) is told. After `tell`, progress only counts.
 */
export function quietNotice(
  ms: number,
  tell: () => void,
): { progress(): void; stop(): void; readonly told: boolean } {
  let told = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      told = true;
      tell();
    }, ms);
  };
  arm();
  return {
    progress: () => {
      if (!told) arm();
    },
    stop: () => clearTimeout(timer),
    get told() {
      return told;
    },
  };
}

/**
 * A file in zig's own cache that says this warm-up was done there (for this zig, lib folder, platforms and flags):
 * a warm run then costs one `zig env` instead of 15 links (~9 s). Deleting zig's cache deletes it too.
 */
function stampPath(zig: ZigInfo): string {
  const { global_cache_dir: cache } = JSON.parse(execFileSync(zig.path, ['env'], { encoding: 'utf8' })) as {
    global_cache_dir: string;
  };
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        zig.version,
        sharedZigLibPath(zig.version) ?? '',
        ...SUPPORTED_PLATFORMS.map((p) => [p.zigTarget, p.zigCpu, cSourceFlags(p)]),
      ]),
    )
    .digest('hex')
    .slice(0, 16);
  return join(cache, `scratchpack-libc-${key}`);
}

export default async function setup(): Promise<void> {
  if (fileFilters(process.argv).length > 0) return;
  let zig: ZigInfo | undefined;
  let stamp: string | undefined;
  try {
    zig = resolveZig();
    stamp = stampPath(zig);
    if (existsSync(stamp)) return;
  } catch {
    // no zig, or no cache folder it can name: warm up anyway (a failure is reported below)
  }
  const dir = mkdtempSync(join(tmpdir(), 'scratchpack-zig-libc-'));
  const started = performance.now();
  const total = SUPPORTED_PLATFORMS.length;
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  let done = 0;
  // Told only when zig is really building: on a new machine the run is otherwise silent for many minutes.
  const notice = quietNotice(QUIET_MS, () =>
    console.log(
      `zig is building its musl libc before the integration tests (${total - done} of ${total} platforms to go; ` +
        'an empty zig cache takes about 22 minutes on 2 cores for all of them, once; later runs reuse it)',
    ),
  );
  try {
    writeFileSync(join(dir, 'libc.c'), '#include <stdio.h>\nint main(void) { puts("libc"); return 0; }\n');
    await compileAll({
      sources: ['libc.c'],
      cwd: dir,
      ...(zig && { zig }),
      platforms: SUPPORTED_PLATFORMS,
      flags: (p) => cSourceFlags(p),
      out: (p) => join(dir, p.name.replaceAll('/', '-')),
      onDone: (r) => {
        done++;
        if (notice.told)
          console.log(`  zig's libc for ${r.platform.name}: done (${done}/${total}, ${elapsed()})`);
        notice.progress();
      },
    });
    if (stamp) writeFileSync(stamp, `${new Date().toISOString()}\n`);
  } catch (err) {
    console.warn(`warming zig's libc failed; the tests that compile will say why: ${(err as Error).message}`);
  } finally {
    notice.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
