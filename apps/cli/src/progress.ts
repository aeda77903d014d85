/**
 * Progress bars: bytes moved by push and pull, bytes packed by build and import (one bar per platform), in
 * KiB/MiB/GiB with the rate. Drawn on a TTY only (cli-progress), nothing otherwise — CI logs get the command's
 * summary only. Always on stderr, so stdout stays clean for `--json`.
 */
import cliProgress from 'cli-progress';
import { bytes } from './output.ts';

export interface ProgressOptions {
  /** Where to draw (default stderr). */
  stream?: NodeJS.WriteStream;
  /** Draw at all (default: when the stream is a TTY). */
  enabled?: boolean;
  /** Clock in ms, for the rate (tests). */
  now?: () => number;
}

export interface ByteProgress {
  /** Add a blob of `size` bytes to the total. */
  add(digest: string, size: number): void;
  /** `bytes` of blob `digest` are done (absolute, not a delta). */
  update(digest: string, bytes: number): void;
  /** Blob `digest` is finished (uploaded, skipped or mounted). */
  done(digest: string): void;
  stop(): void;
}

/** `12.3 MiB/s` from bytes done since `start` (nothing in the first tenth of a second). */
export function rate(done: number, start: number, now: number): string {
  const s = (now - start) / 1000;
  return s < 0.1 ? '' : `${bytes(Math.round(done / s))}/s`;
}

function barOptions(o: ProgressOptions, format: string): cliProgress.Options {
  return {
    stream: o.stream ?? process.stderr,
    format,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
    // cli-progress draws only on a TTY unless told otherwise; `enabled` already decided that.
    noTTYOutput: true,
    notTTYSchedule: 100,
  };
}

const off = { add: () => {}, update: () => {}, done: () => {}, stop: () => {} };

function isEnabled(o: ProgressOptions): boolean {
  return o.enabled ?? (o.stream ?? process.stderr).isTTY === true;
}

export function byteProgress(label: string, o: ProgressOptions = {}): ByteProgress {
  if (!isEnabled(o)) return off;
  const now = o.now ?? Date.now;
  const sizes = new Map<string, number>();
  const progress = new Map<string, number>();
  const bar = new cliProgress.SingleBar(
    barOptions(o, `${label} [{bar}] {percentage}% | {done} / {size} | {rate} | {blobs} blobs`),
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let finished = 0;
  const start = now();
  bar.start(0, 0, { blobs: '0/0', done: bytes(0), size: bytes(0), rate: '' });
  const redraw = () => {
    const sum = [...progress.values()].reduce((a, b) => a + b, 0);
    bar.update(sum, {
      blobs: `${finished}/${sizes.size}`,
      done: bytes(sum),
      size: bytes(total),
      rate: rate(sum, start, now()),
    });
  };
  return {
    add(digest, size) {
      if (sizes.has(digest)) return;
      sizes.set(digest, size);
      progress.set(digest, 0);
      total += size;
      bar.setTotal(total);
      redraw();
    },
    update(digest, n) {
      progress.set(digest, Math.min(n, sizes.get(digest) ?? n));
      redraw();
    },
    done(digest) {
      progress.set(digest, sizes.get(digest) ?? 0);
      finished++;
      redraw();
    },
    stop() {
      bar.stop();
    },
  };
}

/** Run `fn` with a byte bar that is always stopped afterwards, even when `fn` throws. */
export async function withProgress<T>(
  label: string,
  fn: (bar: ByteProgress) => Promise<T>,
  o: ProgressOptions = {},
): Promise<T> {
  const bar = byteProgress(label, o);
  try {
    return await fn(bar);
  } finally {
    bar.stop();
  }
}

export interface PackProgress {
  /** Line `key` (a platform, or a phase of an import) has done `bytes` of `total` (absolute values). */
  update(key: string, bytes: number, total: number): void;
  stop(): void;
}

/** One bar per key — `build` and `import` packing layers: bytes, total, rate. */
export function packProgress(label: string, o: ProgressOptions = {}): PackProgress {
  if (!isEnabled(o)) return { update: () => {}, stop: () => {} };
  const now = o.now ?? Date.now;
  const multi = new cliProgress.MultiBar(
    barOptions(o, `${label} {key} [{bar}] {percentage}% | {done} / {size} | {rate}`),
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; start: number }>();
  const width = { key: 0 };
  return {
    update(key, done, total) {
      let line = bars.get(key);
      if (!line) {
        width.key = Math.max(width.key, key.length);
        line = { bar: multi.create(total, 0), start: now() };
        bars.set(key, line);
      }
      line.bar.setTotal(Math.max(total, done));
      line.bar.update(done, {
        key: key.padEnd(width.key),
        done: bytes(done),
        size: bytes(total),
        rate: rate(done, line.start, now()),
      });
    },
    stop() {
      multi.stop();
    },
  };
}

/** Run `fn` with pack bars that are always stopped afterwards, even when `fn` throws. */
export async function withPackProgress<T>(
  label: string,
  fn: (bars: PackProgress) => Promise<T>,
  o: ProgressOptions = {},
): Promise<T> {
  const bars = packProgress(label, o);
  try {
    return await fn(bars);
  } finally {
    bars.stop();
  }
}
