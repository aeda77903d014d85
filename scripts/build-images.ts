/**
 * The last step of `pnpm build:images` (scripts/build-images.sh runs turbo, then build-images.mjs when the index
 * changed): `scratchpack sign dist/oci:latest` adds its signatures as untagged referrers to `dist/oci/index.json`;
 * on a cache hit turbo restores that file as the task made it, and the signatures would be gone from the index
 * (their blobs stay). build-images.sh copies each layout's index aside before turbo runs; build-images.mjs finds
 * the untagged entries turbo's index lacks and hands them here: they are put back, under the layout's lock, when
 * their blob is there and the image they refer to (their `subject`) still is. Tagged entries are the build's; they
 * are never brought back.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Descriptor, updateLayoutIndex, withManifests } from '@scratchpack/oci';

const blobPath = (dir: string, digest: string) => join(dir, 'blobs', ...digest.split(':'));

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
