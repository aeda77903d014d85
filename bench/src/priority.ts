/**
 * The bench's share of the CPU on a shared machine. Linux schedules by "autogroup" (one per session) when
 * `kernel.sched_autogroup_enabled` is 1: `nice` then only orders processes within their own session, and another
 * session's busy processes still take half the cores. Raising the bench's autogroup (`/proc/self/autogroup`, root
 * only) gives the bench and every contender it starts the CPU before other sessions, so the timings are those of
 * a quiet machine. The old value is put back when the bench ends (the session's shell shares the group).
 */
import { readFileSync, writeFileSync } from 'node:fs';

const AUTOGROUP = '/proc/self/autogroup';
/** The nice value asked for the bench's autogroup: the most CPU before other sessions. */
export const BENCH_NICE = -20;

export interface Priority {
  /** What the machine table says about it. */
  note: string;
  /** Put the autogroup's nice value back. */
  restore(): void;
}

function niceOf(text: string): number | undefined {
  const m = /nice\s+(-?\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Raise the autogroup's priority if the system has autogroups and lets us; say what happened. */
export function raisePriority(): Priority {
  let before: number | undefined;
  try {
    before = niceOf(readFileSync(AUTOGROUP, 'utf8'));
  } catch {
    return { note: 'as started (no autogroup scheduling here)', restore: () => {} };
  }
  if (before === undefined) return { note: 'as started', restore: () => {} };
  try {
    writeFileSync(AUTOGROUP, String(BENCH_NICE));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return {
      note: `autogroup nice ${before} (raising it failed: ${code}; run as root for timings undisturbed by other sessions)`,
      restore: () => {},
    };
  }
  const restore = () => {
    process.off('exit', restore);
    try {
      writeFileSync(AUTOGROUP, String(before));
    } catch {
      // The session ended or the group changed: nothing to put back.
    }
  };
  process.once('exit', restore);
  return {
    note: `autogroup nice ${BENCH_NICE} (other sessions' processes wait while the bench and its contenders run; was ${before})`,
    restore,
  };
}
