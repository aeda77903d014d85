/**
 * A lock file beside a layout's `index.json` (`index.json.lock`), so writers of one layout take turns:
 * create it exclusively (O_EXCL) with the holder's PID and process start time, do the read–merge–write,
 * remove it. A lock whose holder is provably dead (no such PID on this host, or the PID now belongs to a
 * process started at another time) is broken — under a second, short-lived "breaker" lock, and only if
 * the lock file still holds what was judged stale, so two waiters never delete a fresh lock.
 */

import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { abortableSleep, throwIfAborted } from './abort.ts';
import { LockTimeoutError } from './store-errors.ts';
import { isProcessDead, processStartTime, trackTemp, untrackTemp } from './temp-files.ts';

export const LOCK_FILE = 'index.json.lock';
/** A lock or breaker file that never got its contents (its writer died at once) is stale after this. */
const UNREADABLE_STALE_MS = 10_000;

export interface LockOptions {
  /** Give up after this long (default: SCRATCHPACK_LOCK_TIMEOUT seconds, else 300 s). */
  timeoutMs?: number;
  /** Called once when the lock has been busy for a second, with the holder's PID (for a "waiting…" notice). */
  onWait?: (holder: number | undefined) => void;
  /** Stop waiting for the lock (`AbortedError`); once it is held, `fn` decides what the signal stops. */
  signal?: AbortSignal | undefined;
}

interface Holder {
  pid: number;
  host: string;
  start?: string;
}

function describeSelf(): string {
  const start = processStartTime(process.pid);
  return `${JSON.stringify({ pid: process.pid, host: hostname(), ...(start ? { start } : {}) })}\n`;
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx');
    try {
      await fh.writeFile(content);
    } finally {
      await fh.close();
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

async function readHolder(path: string): Promise<{ raw: string; holder?: Holder } | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch {
    return undefined; // released meanwhile
  }
  try {
    const h = JSON.parse(raw) as Holder;
    return typeof h.pid === 'number' ? { raw, holder: h } : { raw };
  } catch {
    return { raw };
  }
}

async function olderThan(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > ms;
  } catch {
    return false;
  }
}

/** True when the holder recorded in the lock can be proven gone. */
async function isStale(path: string, seen: { raw: string; holder?: Holder }): Promise<boolean> {
  const h = seen.holder;
  if (!h) return olderThan(path, UNREADABLE_STALE_MS);
  if (h.host !== hostname()) return false; // another machine (shared file system): cannot tell
  if (isProcessDead(h.pid)) return true;
  const start = processStartTime(h.pid);
  return h.start !== undefined && start !== undefined && start !== h.start; // PID reused
}

/** Remove the lock at `path` if it still holds `raw`, serialised by a breaker lock. */
async function breakStale(path: string, raw: string): Promise<void> {
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker, describeSelf()))) {
    if (await olderThan(breaker, UNREADABLE_STALE_MS)) await rm(breaker, { force: true });
    return;
  }
  trackTemp(breaker);
  try {
    const now = await readHolder(path);
    if (now && now.raw === raw) await rm(path, { force: true });
  } finally {
    await rm(breaker, { force: true });
    untrackTemp(breaker);
  }
}

function defaultTimeout(): number {
  const s = Number(process.env.SCRATCHPACK_LOCK_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 300_000;
}

/**
 * Run `fn` while holding the lock of the layout at `dir` (created if missing). Waits for other writers,
 * breaks locks of dead ones, and throws `LockTimeoutError` after `timeoutMs`.
 */
export async function withLayoutLock<T>(
  dir: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const me = describeSelf();
  const deadline = Date.now() + (opts.timeoutMs ?? defaultTimeout());
  let waited = false;
  const noticeAt = Date.now() + 1000;
  let delay = 2;
  for (;;) {
    throwIfAborted(opts.signal, `waiting for the lock of ${dir}`);
    // Tracked only once created: an interrupt must never remove another writer's lock. (If one lands in
    // between, our lock stays behind with our dead PID in it, and the next writer breaks it.)
    if (await tryCreate(path, me)) {
      trackTemp(path);
      break;
    }
    const seen = await readHolder(path);
    if (seen && (await isStale(path, seen))) {
      await breakStale(path, seen.raw);
      continue;
    }
    if (!waited && Date.now() > noticeAt) {
      waited = true;
      opts.onWait?.(seen?.holder?.pid);
    }
    if (Date.now() > deadline) throw new LockTimeoutError(path, seen?.holder?.pid);
    await abortableSleep(delay + Math.random() * delay, opts.signal, `waiting for the lock of ${dir}`);
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    const now = await readHolder(path);
    if (now?.raw === me) await rm(path, { force: true });
    untrackTemp(path);
  }
}
