import { abortable, abortableSleep, asAborted, throwIfAborted } from '@scratchpack/oci';
import { RegistryClientError, RegistryError } from './errors.ts';

/**
 * How failed steps are retried: exponential backoff with jitter, `Retry-After` honoured, bounded by attempts and by
 * total time. Everything that waits or is random is injectable so tests run in microseconds.
 */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  /** Delay before the second attempt; doubles each time. */
  baseDelayMs: number;
  /** Ceiling of one backoff delay. */
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the error is thrown with its hint. */
  maxRetryAfterMs: number;
  /** Give up once the next wait would end more than this long after the first attempt started. */
  totalTimeMs: number;
  /** Wait `ms`; an aborted `signal` ends the wait (a sleep that ignores it is cut short all the same). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** In [0, 1). */
  random: () => number;
  now: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
  totalTimeMs: 5 * 60_000,
  sleep: (ms, signal) => abortableSleep(ms, signal, 'retry wait'),
  random: Math.random,
  now: Date.now,
};

export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, ...overrides };
}

/** A policy that never retries (`maxAttempts: 1`). */
export const NO_RETRY: Partial<RetryPolicy> = { maxAttempts: 1 };

/** Told before each wait; the CLI can show "retrying in 2 s: 503 UNAVAILABLE". */
export interface RetryInfo {
  /** The attempt that just failed, from 1. */
  attempt: number;
  delayMs: number;
  error: RegistryClientError;
}

/**
 * Worth retrying: connection resets/refusals/timeouts, 408, 429, 5xx (but 501/505), and the spec's
 * `TOOMANYREQUESTS`/`UNAVAILABLE`. Other 4xx, digest mismatches and programming errors are final.
 */
export function isRetryable(err: unknown): err is RegistryClientError {
  if (!(err instanceof RegistryClientError)) return false;
  if (err instanceof RegistryError && (err.status === 501 || err.status === 505)) return false;
  return err.temporary;
}

/**
 * Parse a `Retry-After` value (delta-seconds or an HTTP-date) into milliseconds from `now`.
 * Malformed values give `undefined` (Docker Hub's 429s are not always well-formed); the caller then backs off.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (/^\d+\.\d+$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Backoff before attempt `attempt + 1`: `base · 2^(attempt-1)`, capped, with jitter in [50 %, 100 %]. */
export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.5 + policy.random() / 2));
}

/**
 * Decide what to do after `err` ended attempt `attempt`: a delay in ms to wait before trying again, or
 * `undefined` to give up (not retryable, out of attempts, over the time budget, or a too-long `Retry-After`).
 */
export function retryDecision(
  err: unknown,
  attempt: number,
  startedAt: number,
  policy: RetryPolicy,
): number | undefined {
  if (!isRetryable(err)) return undefined;
  if (attempt >= policy.maxAttempts) return undefined;
  let delay = backoffDelay(attempt, policy);
  if (err instanceof RegistryError && err.retryAfterMs !== undefined) {
    const wanted = err.retryAfterMs;
    if (wanted > policy.maxRetryAfterMs) return undefined;
    delay = Math.max(delay, wanted);
  }
  if (policy.now() + delay - startedAt > policy.totalTimeMs) return undefined;
  return delay;
}

/**
 * Run `fn` until it succeeds or {@link retryDecision} says stop; the last error is rethrown unchanged (so its code
 * and hint reach the user). `fn` receives the attempt number, from 1. Once `signal` is aborted nothing is retried:
 * a wait ends at once and the failure becomes `AbortedError`.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  onRetry?: (info: RetryInfo) => void,
  signal?: AbortSignal,
): Promise<T> {
  const startedAt = policy.now();
  const what = 'registry request';
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal, what);
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal?.aborted) throw asAborted(err, signal, what);
      const delay = retryDecision(err, attempt, startedAt, policy);
      if (delay === undefined) throw err;
      onRetry?.({ attempt, delayMs: delay, error: err as RegistryClientError });
      await abortable(policy.sleep(delay, signal), signal, what);
    }
  }
}
