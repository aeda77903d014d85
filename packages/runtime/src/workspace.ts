/**
 * The private directory a container lives in (0700, owned by the user, its name holding the owning process id),
 * handing it to the unprivileged host user a root caller runs containers as, its removal even when the image made
 * some of its directories read-only, and the sweep of those left by a process that died (`kill -9`).
 */
import { chmodSync, lchownSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'scratchpack-run-';

/** A new private directory `scratchpack-run-<pid>-XXXXXX` in the temp directory. */
export function privateDir(base: string = tmpdir()): Promise<string> {
  return mkdtemp(join(base, `${PREFIX}${process.pid}-`));
}

/** Give the owner rwx on every directory below `dir` (never following a symlink), then remove it all. */
export function removeTree(dir: string): void {
  const open = (d: string) => {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(d);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    if ((st.mode & 0o700) !== 0o700) chmodSync(d, (st.mode & 0o7777) | 0o700);
    // Entry types come with the listing: only directories need a look of their own.
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) open(join(d, e.name));
  };
  try {
    open(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Make `ids` the owner of `dir` and everything in it (symlinks themselves, never their targets). Entry types come
 * with the listing, so each entry costs one call, its lchown (a freshly unpacked layer is all someone else's).
 */
export function giveTree(dir: string, ids: { uid: number; gid: number }): void {
  const give = (d: string) => {
    lchownSync(d, ids.uid, ids.gid);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) give(p);
      else lchownSync(p, ids.uid, ids.gid);
    }
  };
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st?.isDirectory()) give(dir);
  else if (st) lchownSync(dir, ids.uid, ids.gid);
}

/** Whether process `pid` is alive (EPERM: it is, someone else's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the private directories in `base` whose owning process is gone (a CLI killed with SIGKILL cannot
 * clean up); those of live processes stay. Returns what was removed.
 */
export function sweepPrivateDirs(base: string = tmpdir()): Promise<string[]> {
  return sweepDead(base, /^scratchpack-run-(\d+)-/);
}

/** Remove the entries of `base` whose name matches `re` and whose process id (the first group) is gone. */
export async function sweepDead(base: string, re: RegExp): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names) {
    const m = re.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    try {
      removeTree(join(base, name));
      removed.push(join(base, name));
    } catch {
      // not ours to remove (another user's), or going away already
    }
  }
  return removed;
}
