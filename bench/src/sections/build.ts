/**
 * Build: `pnpm build:images` in a clean clone of HEAD — cold (empty zig cache via a fresh
 * `ZIG_GLOBAL_CACHE_DIR`, empty turbo cache via a fresh `TURBO_CACHE_DIR`), the rebuild right after it, warm
 * (nothing changed since: turbo replays both tasks), and after a one-file change (hello.c's message edited: compile and images run again, zig reuses
 * its cached compiler runtime). The three alternate run by run; the clone is thrown away, so the repository's own
 * hello.c is never touched.
 */
import { readdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PLATFORMS } from '@scratchpack/toolchain';
import { run } from '../exec.ts';
import { percent, secondsRange } from '../format.ts';
import { cloneHead, layoutDigest, tempDir } from '../repo.ts';
import type { SectionContext, SectionResult } from '../section.ts';
import { type Summary, secondsSince, summarize } from '../stats.ts';

const HELLO_C = join('packages', 'hello', 'src', 'hello.c');
const MESSAGE = 'Hello from scratchpack!\\n';

export interface BuildRun {
  seconds: number;
  /** turbo's `Cached: N cached, M total`. */
  cached: string;
}

/** `Cached:    2 cached, 2 total` → `2/2`. */
export function turboCached(output: string): string {
  const m = /Cached:\s+(\d+) cached, (\d+) total/.exec(output);
  if (!m) throw new Error(`no "Cached:" line in turbo's output:\n${output.slice(-1500)}`);
  return `${m[1]}/${m[2]}`;
}

/** Run `pnpm build:images` in `dir` with the given caches; time it and read turbo's cache summary. */
export async function buildImages(dir: string, zigCache: string, turboCache: string): Promise<BuildRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ZIG_GLOBAL_CACHE_DIR: zigCache,
    TURBO_CACHE_DIR: turboCache,
    TURBO_TELEMETRY_DISABLED: '1',
  };
  // Inputs of the images task that CI sets: unset, so the index digest depends on the sources only.
  for (const k of [
    'PLATFORMS',
    'IMAGE_NAME',
    'SCRATCHPACK_REVISION',
    'GITHUB_SHA',
    'GITHUB_REPOSITORY',
    'SOURCE_DATE_EPOCH',
  ])
    delete env[k];
  const start = performance.now();
  const out = await run('pnpm', ['build:images'], { cwd: dir, env });
  return { seconds: secondsSince(start), cached: turboCached(out) };
}

export async function buildSection(ctx: SectionContext): Promise<SectionResult> {
  const tmp = await tempDir('build');
  try {
    const repo = join(tmp.path, 'scratchpack');
    ctx.log(`cloning HEAD into ${repo} and installing offline`);
    const { commit } = await cloneHead(repo);
    const original = await readFile(join(repo, HELLO_C), 'utf8');
    if (!original.includes(MESSAGE))
      throw new Error(`${HELLO_C} no longer holds "${MESSAGE}": update the bench`);
    const runs = {
      cold: [] as BuildRun[],
      rebuild: [] as BuildRun[],
      warm: [] as BuildRun[],
      edit: [] as BuildRun[],
    };
    const digests = new Set<string>();
    let zigCacheFiles = 0;
    for (let i = 0; i < ctx.runs; i++) {
      const zigCache = join(tmp.path, `zig-cache-${i}`);
      const turboCache = join(tmp.path, `turbo-cache-${i}`);
      await writeFile(join(repo, HELLO_C), original);
      await rm(join(repo, 'dist'), { recursive: true, force: true });
      await rm(join(repo, 'packages', 'hello', 'dist'), { recursive: true, force: true });
      const cold = await buildImages(repo, zigCache, turboCache);
      zigCacheFiles = readdirSync(zigCache, { recursive: true }).length;
      digests.add(await layoutDigest(join(repo, 'dist', 'oci')));
      const rebuild = await buildImages(repo, zigCache, turboCache);
      const warm = await buildImages(repo, zigCache, turboCache);
      await writeFile(
        join(repo, HELLO_C),
        original.replace(MESSAGE, `Hello from scratchpack! (edit ${i + 1})\\n`),
      );
      const edit = await buildImages(repo, zigCache, turboCache);
      ctx.log(
        `  run ${i + 1}: cold ${cold.seconds.toFixed(2)} s (turbo ${cold.cached} cached), rebuild ${rebuild.seconds.toFixed(2)} s (${rebuild.cached}), warm ${warm.seconds.toFixed(2)} s (${warm.cached}), one-file change ${edit.seconds.toFixed(2)} s (${edit.cached})`,
      );
      const [coldHits] = cold.cached.split('/').map(Number) as [number, number];
      const [warmHits, warmTasks] = warm.cached.split('/').map(Number) as [number, number];
      const [editHits, editTasks] = edit.cached.split('/').map(Number) as [number, number];
      if (coldHits !== 0) throw new Error(`cold build ${i + 1} hit turbo's cache (${cold.cached})`);
      if (warmHits !== warmTasks)
        throw new Error(`warm build ${i + 1} missed turbo's cache (${warm.cached})`);
      // hello's compile and images tasks must both run again.
      if (editHits > editTasks - 2)
        throw new Error(
          `build ${i + 1} after editing hello.c did not compile and pack again (${edit.cached} cached)`,
        );
      if (zigCacheFiles === 0)
        throw new Error(`zig left nothing in ZIG_GLOBAL_CACHE_DIR=${zigCache}: not honoured?`);
      runs.cold.push(cold);
      runs.rebuild.push(rebuild);
      runs.warm.push(warm);
      runs.edit.push(edit);
      await rm(zigCache, { recursive: true, force: true });
      await rm(turboCache, { recursive: true, force: true });
    }
    await writeFile(join(repo, HELLO_C), original);
    const s = {
      cold: summarize(runs.cold.map((r) => r.seconds)),
      rebuild: summarize(runs.rebuild.map((r) => r.seconds)),
      warm: summarize(runs.warm.map((r) => r.seconds)),
      edit: summarize(runs.edit.map((r) => r.seconds)),
    };
    return buildResult(commit, s, [...digests], zigCacheFiles, runs.rebuild[0]?.cached ?? '');
  } finally {
    await tmp.cleanup();
  }
}

/** Tables and targets (pure). */
export function buildResult(
  commit: string,
  s: { cold: Summary; rebuild: Summary; warm: Summary; edit: Summary },
  digests: string[],
  zigCacheFiles: number,
  rebuildCached: string,
): SectionResult {
  const [rebuildHits, rebuildTasks] = rebuildCached.split('/').map(Number) as [number, number];
  const rebuildFull = rebuildTasks > 0 && rebuildHits === rebuildTasks;
  const warmShare = s.warm.median / s.cold.median;
  return {
    name: 'build',
    title: `4. \`pnpm build:images\` (${PLATFORMS.length} platforms): cold, warm, one-file change`,
    tables: [
      {
        title: `build:images in a clean clone of ${commit.slice(0, 12)}`,
        header: ['build', 'time (median, min–max)', 'vs cold', 'what runs'],
        rows: [
          [
            'cold',
            secondsRange(s.cold),
            '100 %',
            `empty zig and turbo caches: zig compiles hello for ${PLATFORMS.length} targets (no libc, no compiler-rt to build), packs`,
          ],
          [
            'rebuild right after the cold build',
            secondsRange(s.rebuild),
            percent(s.rebuild.median / s.cold.median),
            rebuildFull
              ? `turbo ${rebuildCached} cached (outputs restored)`
              : `turbo ${rebuildCached} cached: see the note`,
          ],
          [
            'warm (no change)',
            secondsRange(s.warm),
            percent(warmShare),
            'turbo cache hit for compile and images (outputs restored)',
          ],
          [
            'one-file change (hello.c)',
            secondsRange(s.edit),
            percent(s.edit.median / s.cold.median),
            'compile and images run again',
          ],
        ],
        notes: [
          `Each cold run gets a fresh ZIG_GLOBAL_CACHE_DIR (zig left ${zigCacheFiles} files there: the compile honours it) and a fresh TURBO_CACHE_DIR; times include pnpm and turbo start-up.`,
          rebuildFull
            ? "Warm is the third `build:images` with no change; the second, right after the build from a clean checkout, is already a full turbo hit: the images task's inputs leave out compile's outputs (`packages/hello/dist/**`), for which compile's own hash stands (it is a dependency of images), so no hash depends on files a task writes."
            : `Warm is the third \`build:images\` with no change. The second, right after the build from a clean checkout, was not a full turbo hit (${rebuildCached}): a task's hash took in files that an earlier task of the same run writes (compare \`turbo run images --dry=json\` of the two runs).`,
          `Index digest of every cold build: ${digests.join(', ')}.`,
        ],
      },
    ],
    targets: [
      { name: 'warm build:images vs cold', goal: '≤ 10 %', value: percent(warmShare), met: warmShare <= 0.1 },
    ],
    data: { commit, seconds: s, digests, zigCacheFiles },
    ...(digests.length > 1
      ? { failure: `cold builds of one commit gave ${digests.length} different index digests` }
      : {}),
  };
}
