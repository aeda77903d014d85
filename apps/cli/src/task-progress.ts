/**
 * Progress of long steps that move no bytes we can count — compiling a program per platform with zig, where
 * the first compile for a target also builds musl libc (minutes; zig caches it). On a TTY: a live line per
 * platform with its state and elapsed time. Otherwise: one line per platform as it finishes (CI logs show
 * that something happens, and what took long). Nothing with `quiet`. Always on stderr.
 */
import cliProgress from 'cli-progress';
import type { ProgressOptions } from './progress.ts';

export interface TaskProgress {
  /** Step `key` (a platform) has started. */
  start(key: string): void;
  /** Step `key` has finished. */
  done(key: string): void;
  stop(): void;
}

export interface TaskProgressOptions extends ProgressOptions {
  /** Print nothing at all (`--quiet`). */
  quiet?: boolean;
  /** After this long a running step shows `slowNote` (default 5 s). */
  slowAfterMs?: number;
  /** Why a step takes long, e.g. that zig builds musl libc the first time. */
  slowNote?: string;
}

/** `7 s`, `2 min 05 s`. */
export function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * Lines for `verb`ing (`compiling`) each key; `past` (`compiled`) for the lines written when not on a TTY:
 * `compiled linux/arm64/v8 in 41 s (…slowNote)`.
 */
export function taskProgress(verb: string, past: string, o: TaskProgressOptions = {}): TaskProgress {
  const off = { start: () => {}, done: () => {}, stop: () => {} };
  if (o.quiet) return off;
  const stream = o.stream ?? process.stderr;
  const now = o.now ?? Date.now;
  const slowAfter = o.slowAfterMs ?? 5000;
  const note = (ms: number) => (ms >= slowAfter && o.slowNote ? o.slowNote : '');
  const started = new Map<string, number>();
  if (!(o.enabled ?? stream.isTTY === true)) {
    return {
      start: (key) => void started.set(key, now()),
      done(key) {
        const ms = now() - (started.get(key) ?? now());
        const why = note(ms);
        stream.write(`${past} ${key} in ${(ms / 1000).toFixed(1)} s${why ? ` (${why})` : ''}\n`);
      },
      stop: () => {},
    };
  }
  const multi = new cliProgress.MultiBar({
    stream,
    format: `${verb} {key} {elapsed} {state}`,
    hideCursor: true,
    clearOnComplete: true,
    fps: 4,
    noTTYOutput: true,
    notTTYSchedule: 250,
  });
  const lines = new Map<string, { bar: cliProgress.SingleBar; start: number; end?: number }>();
  let width = 0;
  const draw = (key: string) => {
    const line = lines.get(key)!;
    const ms = (line.end ?? now()) - line.start;
    line.bar.update(line.end === undefined ? 0 : 1, {
      key: key.padEnd(width),
      elapsed: elapsed(ms).padStart(10),
      state: line.end === undefined ? note(ms) || 'running' : 'done',
    });
  };
  const timer = setInterval(() => {
    for (const key of lines.keys()) draw(key);
  }, 250);
  timer.unref();
  return {
    start(key) {
      width = Math.max(width, key.length);
      lines.set(key, { bar: multi.create(1, 0), start: now() });
      draw(key);
    },
    done(key) {
      const line = lines.get(key);
      if (!line) return;
      line.end = now();
      draw(key);
    },
    stop() {
      clearInterval(timer);
      multi.stop();
    },
  };
}
