/**
 * Progress for push and pull: a byte bar on a TTY (cli-progress), nothing otherwise — CI logs get the
 * summary only. Always on stderr, so stdout stays clean for `--json`.
 */
import cliProgress from 'cli-progress';

export interface ByteProgress {
  /** Add a blob of `size` bytes to the total. */
  add(digest: string, size: number): void;
  /** `bytes` of blob `digest` are done (absolute, not a delta). */
  update(digest: string, bytes: number): void;
  /** Blob `digest` is finished (uploaded, skipped or mounted). */
  done(digest: string): void;
  stop(): void;
}

export function byteProgress(label: string, enabled = process.stderr.isTTY === true): ByteProgress {
  const sizes = new Map<string, number>();
  const progress = new Map<string, number>();
  if (!enabled) {
    return { add: () => {}, update: () => {}, done: () => {}, stop: () => {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} bytes | {blobs} blobs`,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let finished = 0;
  bar.start(0, 0, { blobs: '0/0' });
  const sum = () => [...progress.values()].reduce((a, b) => a + b, 0);
  const redraw = () => bar.update(sum(), { blobs: `${finished}/${sizes.size}` });
  return {
    add(digest, size) {
      if (sizes.has(digest)) return;
      sizes.set(digest, size);
      progress.set(digest, 0);
      total += size;
      bar.setTotal(total);
      redraw();
    },
    update(digest, bytes) {
      progress.set(digest, Math.min(bytes, sizes.get(digest) ?? bytes));
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
export async function withProgress<T>(label: string, fn: (bar: ByteProgress) => Promise<T>): Promise<T> {
  const bar = byteProgress(label);
  try {
    return await fn(bar);
  } finally {
    bar.stop();
  }
}
