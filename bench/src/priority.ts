/**
 * The bench's share of the CPU on a shared machine. Linux schedules by "autogroup" (one per session) when
 * `kernel.sched_autogroup_enabled` is 1: `nice` then only orders processes within their own session, and another
 * session's busy processes still take half the cores. Raising the bench's autogroup (`/proc/self/autogroup`, root
 * only) gives the bench and every contender it starts the CPU before other sessions, so the timings are those of
 * a quiet machine. The old value is put back when the bench ends (the session's shell shares the group). The
 * bench process itself also gets nice -20, inherited by the contenders it starts, for other processes of its own
 * session.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

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

/** nice -20 for this process and the contenders it starts (root only): what it is now, and how to undo it. */
function raiseNice(): { nice: string; undo: () => void } {
  const before = getPriority();
  try {
    setPriority(BENCH_NICE);
  } catch {
    // Not root: the process keeps its nice value.
  }
  const undo = () => {
    try {
      setPriority(before);
    } catch {
      // Nothing to undo.
    }
  };
  return { nice: `nice ${getPriority()}`, undo };
}

/** Raise the autogroup's and the process's priority where the system lets us; say what happened. */
export function raisePriority(autogroup = AUTOGROUP): Priority {
  const { nice, undo } = raiseNice();
  let before: number | undefined;
  try {
    before = niceOf(readFileSync(autogroup, 'utf8'));
  } catch {
    return { note: `${nice} (no autogroup scheduling here)`, restore: undo };
  }
  if (before === undefined) return { note: `${nice} (not in an autogroup here)`, restore: undo };
  try {
    writeFileSync(autogroup, String(BENCH_NICE));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return {
      note: `${nice}, autogroup nice ${before} (raising it failed: ${code}; run as root for timings undisturbed by other sessions)`,
      restore: undo,
    };
  }
  const restore = () => {
    process.off('exit', restore);
    undo();
    try {
      writeFileSync(autogroup, String(before));
    } catch {
      // The session ended or the group changed: nothing to put back.
    }
  };
  process.once('exit', restore);
  return {
    note: `${nice}, autogroup nice ${BENCH_NICE} (other processes wait while the bench and its contenders run; the group was ${before})`,
    restore,
  };
}
