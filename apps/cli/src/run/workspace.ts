/**
 * The private directory a rootfs is unpacked into (0700, owned by the user), and its removal — also on
 * Ctrl-C/SIGTERM while unpacking — even when the image made some of its directories read-only.
 */

import { chmodSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTrackedTemps } from '@scratchpack/oci';
import { isInterruptCleanup } from '../interrupt.ts';

export function privateDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'scratchpack-run-'));
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
 * Run `work` with SIGINT/SIGTERM removing `dir` and exiting 128+N while no child program is running
 * (`runSandboxed` installs its own forwarding handlers while one is). `dir` is removed at the end unless
 * `keep`.
 */
export async function withPrivateDir<T>(dir: string, keep: boolean, work: () => Promise<T>): Promise<T> {
  const onSignal = (sig: NodeJS.Signals) => {
    // A program is running: its handler forwards the signal (the CLI-wide clean-up handler does not count).
    if (process.listeners(sig).some((l) => l !== onSignal && !isInterruptCleanup(l))) return;
    if (!keep) removeTree(dir);
    removeTrackedTemps();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    return await work();
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    if (!keep) removeTree(dir);
  }
}
