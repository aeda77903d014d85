/**
 * Ctrl-C and `kill`: remove this run's temporary files (spooled layers, half-written blobs and archives,
 * held layout locks) and exit 130 (SIGINT) or 143 (SIGTERM), as shells report a signalled program.
 * A command that handles a signal itself (e.g. `run`, which forwards it to its program) keeps it.
 */
import { rmSync } from 'node:fs';
import { removeTrackedTemps, trackedTemps } from '@scratchpack/oci';

const cleanupHandlers = new WeakSet<(...args: never[]) => unknown>();

/** True for the handlers `cleanUpOnInterrupt` installs (a command's own handler looks past them). */
export function isInterruptCleanup(listener: (...args: never[]) => unknown): boolean {
  return cleanupHandlers.has(listener);
}

export function cleanUpOnInterrupt(): void {
  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    let exiting = false;
    const onSignal = () => {
      if (exiting || process.listeners(signal).some((l) => l !== onSignal)) return;
      exiting = true;
      const paths = trackedTemps();
      removeTrackedTemps();
      // A file open already handed to the thread pool can still create its file after that: let the calls in
      // flight finish, then remove the same paths (and any tracked since) once more before exiting.
      setTimeout(() => {
        for (const p of paths) rmSync(p, { recursive: true, force: true });
        removeTrackedTemps();
        process.exit(status);
      }, 200);
    };
    cleanupHandlers.add(onSignal);
    process.on(signal, onSignal);
  }
}
