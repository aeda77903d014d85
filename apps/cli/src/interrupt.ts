/**
 * Ctrl-C and `kill`: the first SIGINT/SIGTERM aborts this run's one `AbortController` ({@link runSignal}), which
 * every long operation (push, pull, build, import, compile) takes: in-flight requests and writes stop, their temp
 * files are removed as the command unwinds, and the process exits 130 (SIGINT) or 143 (SIGTERM), as shells report
 * a signalled program. If the command has not unwound after a short grace period, the tracked temps are removed
 * here (the safety net) and the process exits anyway; a second signal exits at once.
 * This is the process's one SIGINT/SIGTERM handler. A command whose child should get the signals instead (`run`
 * forwards them to its program) hands them over with {@link forwardSignals} for as long as the child runs.
 */
import { rmSync } from 'node:fs';
import { AbortedError, allowManyAbortListeners, removeTrackedTemps, trackedTemps } from '@scratchpack/oci';

/** How long an interrupted command gets to unwind before the safety net removes temps and exits. */
export const INTERRUPT_GRACE_MS = 2000;

const controller = new AbortController();
// Every request, blob write and wait of the run listens to it.
allowManyAbortListeners(controller.signal);
let interrupted: number | undefined;
let forwardTo: ((signal: NodeJS.Signals) => void) | undefined;

/** The signal of this run: aborted by the first SIGINT/SIGTERM (not while a command handles signals itself). */
export function runSignal(): AbortSignal {
  return controller.signal;
}

/** The exit status owed to an interrupt (130 for SIGINT, 143 for SIGTERM), or undefined when none came. */
export function interruptStatus(): number | undefined {
  return interrupted;
}

/**
 * The hand-over: until the returned release is called, SIGINT/SIGTERM go to `deliver` (e.g. to a container's
 * program) instead of aborting the run. A library gets this function and calls it when its child has started.
 */
export function forwardSignals(deliver: (signal: NodeJS.Signals) => void): () => void {
  forwardTo = deliver;
  return () => {
    if (forwardTo === deliver) forwardTo = undefined;
  };
}

/** Remove the tracked temps now, and once more after calls already in the thread pool had time to finish. */
function removeTempsAndExit(status: number, settleMs: number): void {
  const paths = trackedTemps();
  removeTrackedTemps();
  if (settleMs === 0) process.exit(status);
  // A file open already handed to the thread pool can still create its file after that: let the calls in
  // flight finish, then remove the same paths (and any tracked since) once more before exiting.
  setTimeout(() => {
    for (const p of paths) rmSync(p, { recursive: true, force: true });
    removeTrackedTemps();
    process.exit(status);
  }, settleMs);
}

export function cleanUpOnInterrupt(graceMs = INTERRUPT_GRACE_MS): void {
  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    const onSignal = () => {
      if (forwardTo) {
        forwardTo(signal);
        return;
      }
      if (interrupted !== undefined) {
        // The second signal: no more waiting.
        removeTempsAndExit(status, 0);
        return;
      }
      interrupted = status;
      controller.abort(new AbortedError(`interrupted by ${signal}`));
      // The safety net, should the command not unwind in time (work that does not take the signal).
      setTimeout(() => removeTempsAndExit(status, 200), graceMs).unref();
    };
    process.on(signal, onSignal);
  }
}

/**
 * After the command settled: if it was interrupted, remove what is still tracked and exit with the interrupt's
 * status now (open sockets or timers must not keep an interrupted run alive).
 */
export function exitIfInterrupted(): void {
  if (interrupted !== undefined) removeTempsAndExit(interrupted, 0);
}
