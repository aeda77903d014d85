/**
 * Cancellation helpers: every long operation takes an optional `signal` and, once it is aborted, rejects with
 * {@link AbortedError} (code `ABORTED`) rather than with whatever the interrupted socket, stream or child said.
 */
import { defaultMaxListeners, getMaxListeners, setMaxListeners } from 'node:events';
import { AbortedError } from './base-error.ts';

/**
 * An operation signal is listened to by every request, blob write and wait in flight (a few per unit of
 * concurrency): raise Node's leak-warning threshold for it, as undici's fetch does, unless its owner set one.
 */
export function allowManyAbortListeners(signal: AbortSignal | undefined): void {
  if (signal && getMaxListeners(signal) === defaultMaxListeners) setMaxListeners(1500, signal);
}

/** Throw {@link AbortedError} for `what` if `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortedError(what, signal.reason);
}

/** `err` as it should reach the caller: an {@link AbortedError} when `signal` is aborted, else unchanged. */
export function asAborted(err: unknown, signal: AbortSignal | undefined, what: string): unknown {
  if (!signal?.aborted || err instanceof AbortedError) return err;
  return abortedError(what, err);
}

function abortedError(what: string, cause: unknown): AbortedError {
  return cause instanceof AbortedError ? cause : new AbortedError(what, { cause });
}

/** Wait `ms`; an abort ends the wait at once with {@link AbortedError}. */
export function abortableSleep(ms: number, signal?: AbortSignal, what = 'wait'): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortedError(what, signal.reason));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer); // an aborted wait keeps nothing alive
      reject(abortedError(what, signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `promise`, or {@link AbortedError} as soon as `signal` aborts (the promise is left to settle on its own: use
 * this only around work that stops by itself on the same signal, or that is harmless to finish, like a timer).
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortedError(what, signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(what, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(asAborted(e, signal, what));
      },
    );
  });
}
