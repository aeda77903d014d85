/**
 * Writing a file so that readers see the old one or the whole new one, never a part: write to a temp name in
 * the same directory (so the rename is atomic), then rename into place. The temp is tracked (temp-files.ts),
 * so an interrupted run removes it, and named `.tmp-<pid>-…`, so a later writer can sweep it once its
 * process is dead. A failure removes the temp and leaves the old file as it was.
 */

import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { withPathIfNoSpace } from './errors.ts';
import { trackTemp, untrackTemp } from './temp-files.ts';

let tempCounter = 0;

/** A unique temp name next to `path` (same directory, so rename is atomic), removed if the run is interrupted. */
export function tempPathFor(path: string): string {
  tempCounter += 1;
  return trackTemp(
    join(
      dirname(path),
      `.tmp-${process.pid}-${Date.now()}-${tempCounter}-${path.slice(path.lastIndexOf('/') + 1)}`,
    ),
  );
}

/**
 * Produce `path` through a temp file: `write(tmp)` creates the temp (a stream, a compiler's `-o`, …) and may
 * check it; when it resolves, the temp is renamed to `path`. Returns what `write` returned.
 */
export async function writeThroughTemp<T>(path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = tempPathFor(path);
  try {
    const result = await write(tmp);
    await rename(tmp, path);
    return result;
  } catch (err) {
    await rm(tmp, { force: true });
    throw withPathIfNoSpace(err, path);
  } finally {
    untrackTemp(tmp);
  }
}

/** Atomically replace `path` with `data` (temp file in the same directory + rename). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await writeThroughTemp(path, (tmp) => writeFile(tmp, data, { flag: 'wx' }));
}

/** `writeFileAtomic`, synchronously (for code that cannot wait, e.g. computing compiler flags). */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, data, { flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw withPathIfNoSpace(err, path);
  } finally {
    untrackTemp(tmp);
  }
}
