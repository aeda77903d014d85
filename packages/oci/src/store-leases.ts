/**
 * Leases: how readers and writers of the local store keep garbage collection away from the blobs they use
 * (containers/storage takes a shared lock for the same reason). Each operation that reads or writes the
 * store's blobs outside the index lock holds a lease: a file `leases/<pid>-<n>-<random>` naming its process.
 * Collection (under the index lock) deletes nothing while another live lease exists; it leaves the
 * unreachable blobs for a later `gc`. A lease whose process is gone (kill -9) no longer counts and is removed.
 *
 * Ordering that makes this safe: a reader takes its lease BEFORE it reads `index.json`; collection writes the
 * new index BEFORE it looks at the leases. So a reader either holds a lease the collector sees, or read an
 * index in which the collected blobs were already unreachable.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessDead, processStartTime, trackTemp, untrackTemp } from './temp-files.ts';

export const LEASES_DIR = 'leases';
let counter = 0;

export interface Lease {
  readonly path: string;
  release(): Promise<void>;
}

/** Take a lease on the store at `dir` (created if needed). */
export async function takeLease(dir: string, purpose: string): Promise<Lease> {
  const leases = join(dir, LEASES_DIR);
  const path = join(leases, `${process.pid}-${++counter}-${randomBytes(4).toString('hex')}`);
  const start = processStartTime(process.pid);
  const content = `${JSON.stringify({ pid: process.pid, purpose, ...(start ? { start } : {}) })}\n`;
  // The folder is removed when its last lease goes (the store stays a plain layout): create it again if a
  // release removed it between our mkdir and our write. mkdir itself can fail with ENOENT in that race: it
  // found the folder (EEXIST), and the folder was gone when it checked that it is a folder.
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(leases, { recursive: true });
      await writeFile(path, content, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 20) throw err;
    }
  }
  trackTemp(path);
  let released = false;
  return {
    path,
    release: async () => {
      if (released) return;
      released = true;
      await rm(path, { force: true });
      untrackTemp(path);
      await rmdir(leases).catch(() => {}); // only when empty: another lease keeps it
    },
  };
}

/** Run `fn` holding a lease on the store at `dir`. */
export async function withLease<T>(dir: string, purpose: string, fn: () => Promise<T>): Promise<T> {
  const lease = await takeLease(dir, purpose);
  try {
    return await fn();
  } finally {
    await lease.release();
  }
}

/** The live leases of the store at `dir` other than `except`; leases of dead processes are removed. */
export async function liveLeases(dir: string, except: ReadonlySet<string> = new Set()): Promise<string[]> {
  const leases = join(dir, LEASES_DIR);
  const live: string[] = [];
  for (const name of await readdir(leases).catch(() => [] as string[])) {
    const path = join(leases, name);
    if (except.has(path)) continue;
    let holder: { pid?: unknown; start?: unknown } | undefined;
    try {
      holder = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      holder = undefined; // being written, or removed meanwhile: count it if it is still there
    }
    const pid = typeof holder?.pid === 'number' ? holder.pid : Number(name.split('-')[0]);
    const start = processStartTime(pid);
    const dead =
      !Number.isInteger(pid) ||
      isProcessDead(pid) ||
      (typeof holder?.start === 'string' && start !== undefined && start !== holder.start);
    if (dead) await rm(path, { force: true });
    else live.push(path);
  }
  return live;
}
