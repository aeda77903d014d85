/**
 * `pnpm build:images`: `turbo run images`, keeping what was added to the image layouts after they were built.
 * `scratchpack sign dist/oci:latest` adds its signatures as untagged referrers to `dist/oci/index.json`; on a
 * cache hit turbo restores that file as the task made it, and the signatures would be gone from the index
 * (their blobs stay). So before turbo runs, the untagged entries of each layout are noted; afterwards, those
 * turbo's index no longer lists are put back, under the layout's lock, when their blob is there and the image
 * they refer to (their `subject`) still is. Tagged entries are the build's; they are never brought back.
 * Arguments are passed to turbo (`pnpm build:images --force`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Descriptor, REF_NAME, readIndexFile, updateLayoutIndex, withManifests } from '@scratchpack/oci';
import { isMain, repoRoot, runMain } from './release-common.ts';

/** The layouts the `images` tasks write (turbo.json's outputs). */
export const IMAGE_LAYOUTS = ['dist/oci'];

const blobPath = (dir: string, digest: string) => join(dir, 'blobs', ...digest.split(':'));

/** The untagged entries (referrers such as signatures) of the layout at `dir`, if it has an index. */
export async function untaggedEntries(dir: string): Promise<Descriptor[]> {
  const index = await readIndexFile(dir).catch(() => undefined);
  return (index?.manifests ?? []).filter((m) => m.annotations?.[REF_NAME] === undefined);
}

/** The subject a referrer's manifest names, if it names one. */
async function subjectOf(dir: string, d: Descriptor): Promise<string | undefined> {
  const raw = await readFile(blobPath(dir, d.digest), 'utf8').catch(() => undefined);
  if (raw === undefined) return undefined;
  try {
    return (JSON.parse(raw) as { subject?: { digest?: string } }).subject?.digest;
  } catch {
    return undefined;
  }
}

/**
 * Put `kept` (untagged entries from before) back into the layout's index where it lost them: only referrers
 * whose blob and subject are in the layout. Returns how many came back.
 */
export async function restoreUntagged(dir: string, kept: Descriptor[]): Promise<number> {
  if (kept.length === 0 || !existsSync(join(dir, 'index.json'))) return 0;
  let restored = 0;
  await updateLayoutIndex(dir, async (current) => {
    const have = new Set((current?.manifests ?? []).map((m) => m.digest));
    const back: Descriptor[] = [];
    for (const d of kept) {
      if (have.has(d.digest) || !existsSync(blobPath(dir, d.digest))) continue;
      const subject = await subjectOf(dir, d);
      if (!subject || !existsSync(blobPath(dir, subject))) continue;
      back.push(d);
      have.add(d.digest);
    }
    restored = back.length;
    return withManifests(current, [...(current?.manifests ?? []), ...back]);
  });
  return restored;
}

export async function buildImages(args: string[], root = repoRoot): Promise<number> {
  const layouts = IMAGE_LAYOUTS.map((l) => join(root, l));
  const before = await Promise.all(layouts.map(untaggedEntries));
  const turbo = spawnSync(join(repoRoot, 'node_modules', '.bin', 'turbo'), ['run', 'images', ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });
  if (turbo.status !== 0) return turbo.status ?? 1;
  for (const [i, dir] of layouts.entries()) {
    const n = await restoreUntagged(dir, before[i]!);
    if (n > 0)
      console.log(`kept ${n} referrer(s) added to ${IMAGE_LAYOUTS[i]} since it was built (e.g. signatures)`);
  }
  return 0;
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    process.exitCode = await buildImages(process.argv.slice(2));
  });
}
