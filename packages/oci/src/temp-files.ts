/**
 * Temporary files of this process, so an interrupted run leaves nothing behind: every temp path is tracked
 * while it exists, `removeTrackedTemps()` (called by the CLI on SIGINT/SIGTERM, and on exit) deletes them
 * synchronously. Temp names carry the writer's PID (`.tmp-<pid>-…`, `scratchpack-layer-<pid>-…`), so a later
 * writer can prove a leftover dead (its process is gone) and remove it — after a kill -9, say.
 */
import { readFileSync, rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const tracked = new Set<string>();
let exitHook = false;

/** Remember `path` (a file or directory) as this process's temp; it is removed on interrupt or exit. */
export function trackTemp(path: string): string {
  tracked.add(path);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', removeTrackedTemps);
  }
  return path;
}

/** Forget `path` (it was renamed into place or removed). */
export function untrackTemp(path: string): void {
  tracked.delete(path);
}

/** The temp paths tracked now. */
export function trackedTemps(): string[] {
  return [...tracked];
}

/** Delete every tracked temp now, synchronously (safe in a signal handler). Returns how many were removed. */
export function removeTrackedTemps(): number {
  let n = 0;
  for (const p of tracked) {
    try {
      rmSync(p, { recursive: true, force: true });
      n++;
    } catch {
      // best effort: nothing else can be done while exiting
    }
  }
  tracked.clear();
  return n;
}

/** Process start time (clock ticks since boot, /proc/<pid>/stat field 22), or undefined off Linux. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True when no process with `pid` exists (so files it named after itself are garbage). */
export function isProcessDead(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const TEMP_RE = /^\.tmp-(\d+)-/;

/** The PID in a `.tmp-<pid>-…` name, if it is one. */
export function tempOwner(name: string, re = TEMP_RE): number | undefined {
  const m = re.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Remove the entries of `dir` whose name matches `re` (first group: a PID) and whose process is dead.
 * `suffix`, when given, must end the name too (e.g. an archive's file name). Returns the paths removed.
 */
export async function sweepDeadTemps(dir: string, re = TEMP_RE, suffix?: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = tempOwner(name, re);
    if (pid === undefined || (suffix && !name.endsWith(suffix))) continue;
    if (!isProcessDead(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(join(dir, name));
  }
  return removed;
}
