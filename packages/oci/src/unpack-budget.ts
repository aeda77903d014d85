/**
 * Bounds on unpacking: a layer's uncompressed bytes are counted as they stream, and unpacking stops before they
 * pass the free space of the target filesystem minus a margin, or a caller's limit (`--max-size`), so a gzip
 * bomb (gigabytes of zeros in a few megabytes) fails in seconds instead of filling the disk.
 */
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Transform } from 'node:stream';
import { OciError } from './errors.ts';

/** What unpacking may still write: `limit` bytes in all, of which `used` are spent. */
export interface UnpackBudget {
  limit: number;
  used: number;
  /** Where the bytes go (a directory), and which bound set the limit. */
  dir: string;
  bound: 'free-space' | 'max-size';
}

/** Free space kept back: 64 MiB, or 2 % of the filesystem when larger. */
export function freeSpaceMargin(total: number): number {
  return Math.max(64 * 2 ** 20, Math.floor(total * 0.02));
}

/** A byte count as people read it (MiB above one MiB). */
function mib(n: number): string {
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(0)} MiB` : `${n} bytes`;
}

/** Unpacking went past its budget; what it wrote is removed by the caller. */
export class UnpackTooLargeError extends OciError {
  constructor(
    readonly where: string,
    readonly budget: UnpackBudget,
  ) {
    const bound =
      budget.bound === 'max-size'
        ? `the --max-size limit of ${mib(budget.limit)}`
        : `the free space of the filesystem of ${budget.dir} (${mib(budget.limit)} after a safety margin)`;
    super('OCI_UNPACK_TOO_LARGE', `${where}: unpacks to more than ${bound}; unpacking stopped`, {
      hint:
        budget.bound === 'max-size'
          ? 'raise --max-size if the image is trusted and this much is expected'
          : `free space there, or point TMPDIR / SCRATCHPACK_ROOTFS_CACHE to a larger filesystem (a layer this large may also be a decompression bomb)`,
    });
  }
}

/** The budget for unpacking into `dir` (or its nearest existing parent): free space minus a margin, capped by `maxBytes`. */
export async function unpackBudget(dir: string, maxBytes?: number): Promise<UnpackBudget> {
  let at = dir;
  let fs: Awaited<ReturnType<typeof statfs>> | undefined;
  for (;;) {
    fs = await statfs(at).catch(() => undefined);
    if (fs || at === dirname(at)) break;
    at = dirname(at);
  }
  const free = fs ? fs.bavail * fs.bsize - freeSpaceMargin(fs.blocks * fs.bsize) : Number.POSITIVE_INFINITY;
  const room = Math.max(0, free);
  if (maxBytes !== undefined && maxBytes <= room) return { limit: maxBytes, used: 0, dir, bound: 'max-size' };
  return { limit: room, used: 0, dir, bound: 'free-space' };
}

/** Count the bytes through `stream` against `budget`; past it, `stop` gets the error. */
export function watchBudget(
  stream: Transform,
  budget: UnpackBudget | undefined,
  where: string,
  stop: (err: Error) => void,
): void {
  if (!budget) return;
  stream.on('data', (chunk: Buffer) => {
    budget.used += chunk.length;
    if (budget.used > budget.limit) stop(new UnpackTooLargeError(where, budget));
  });
}
