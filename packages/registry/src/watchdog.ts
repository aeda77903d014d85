import type { ReadableStreamReadResult } from 'node:stream/web';
import { RegistryClientError } from './errors.ts';
import { redactUrl } from './redact.ts';

/**
 * Bounds on waiting for a registry: a request ends — with an answer, or with a {@link TimeoutError} naming the
 * registry and what stalled — however the registry misbehaves (never answers, sends a body one byte at a time,
 * stops reading an upload). While waiting, `onWait` is told (the CLI prints a notice; the library never does).
 */

/** Default idle/stall timeout (`SCRATCHPACK_REGISTRY_TIMEOUT` / `--timeout` in the CLI). */
export const DEFAULT_TIMEOUT_MS = 30_000;
/**
 * A body counts as stalled when less than this many bytes came in one timeout window of waiting for it:
 * 1 KiB per 30 s is slower than any real link, and a body trickled a byte at a time is caught.
 */
export const STALL_MIN_BYTES = 1024;

/** What push and pull report while a registry keeps them waiting. */
export interface WaitEvent {
  type: 'wait';
  /** `host[:port]` of the registry. */
  registry: string;
  method: string;
  /** Redacted. */
  url: string;
  /** Waiting for the response headers, or for more of a response body. */
  phase: 'response' | 'body';
  waitedMs: number;
  timeoutMs: number;
}

export interface WatchOptions {
  timeoutMs: number;
  /** First notice after this long, then again every as long (default a third of the timeout, at most 10 s). */
  noticeMs?: number;
  /** Minimum bytes per timeout window of waiting for a body (default {@link STALL_MIN_BYTES}). */
  minBytes?: number;
  onWait?: ((event: WaitEvent) => void) | undefined;
}

/** A registry kept us waiting longer than the timeout. */
export class TimeoutError extends RegistryClientError {
  readonly code = 'REGISTRY_TIMEOUT';
  override readonly name = 'TimeoutError';
  readonly url: string;

  constructor(method: string, url: string | URL, what: string, timeoutMs: number) {
    const u = new URL(url.toString());
    super(
      `${u.host} stalled: ${what} of ${method} ${redactUrl(url)} (timeout ${formatMs(timeoutMs)})`,
      `the registry at ${u.host} or the network to it is hung or far too slow; retry later, or allow more time with --timeout SECONDS (SCRATCHPACK_REGISTRY_TIMEOUT)`,
      false,
    );
    this.url = redactUrl(url);
  }
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

function noticeEvery(o: WatchOptions): number {
  return o.noticeMs ?? Math.min(10_000, Math.max(1, Math.round(o.timeoutMs / 3)));
}

function waitEvent(
  method: string,
  url: string | URL,
  phase: WaitEvent['phase'],
  waitedMs: number,
  o: WatchOptions,
): WaitEvent {
  return {
    type: 'wait',
    registry: new URL(url.toString()).host,
    method,
    url: redactUrl(url),
    phase,
    waitedMs,
    timeoutMs: o.timeoutMs,
  };
}

/**
 * A deadline for an answer: `expire` runs once `limitMs` pass without `progress()`; `onWait` hears about it
 * every notice interval meanwhile. `progress()` (a chunk of the request body went out) starts it again;
 * `rearm(ms)` sets a new limit from now (the body is sent: wait for the answer).
 */
export class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private since = Date.now();
  private stopped = false;

  constructor(
    private limitMs: number,
    private readonly o: WatchOptions,
    private readonly method: string,
    private readonly url: string | URL,
    private readonly expire: (err: TimeoutError) => void,
  ) {
    this.arm();
  }

  private arm(): void {
    this.clear();
    if (this.stopped) return;
    this.since = Date.now();
    this.timer = setTimeout(() => {
      this.stop();
      this.expire(new TimeoutError(this.method, this.url, 'no response', this.limitMs));
    }, this.limitMs);
    if (this.o.onWait) {
      const onWait = this.o.onWait;
      this.ticker = setInterval(() => {
        onWait(waitEvent(this.method, this.url, 'response', Date.now() - this.since, this.o));
      }, noticeEvery(this.o));
    }
  }

  private clear(): void {
    clearTimeout(this.timer);
    clearInterval(this.ticker);
  }

  progress(): void {
    this.arm();
  }

  rearm(limitMs: number): void {
    this.limitMs = limitMs;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }
}

/**
 * `body` with a stall check: time is counted only while a read is waiting for the network (a slow consumer is
 * never blamed on the registry); once a timeout's worth of waiting brought fewer than `minBytes`, the stream
 * errors with a {@link TimeoutError} and the source is cancelled (the connection is closed). One ticker per
 * body checks the clock; a chunk costs two `Date.now()` calls, no timers.
 */
export function watchBody(
  body: ReadableStream<Uint8Array>,
  method: string,
  url: string | URL,
  o: WatchOptions,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const minBytes = o.minBytes ?? STALL_MIN_BYTES;
  const every = noticeEvery(o);
  const tick = Math.max(5, Math.round(Math.min(every, o.timeoutMs) / 4));
  // The current window: waiting time and bytes; `since` is when the pending read started (undefined: none).
  let waited = 0;
  let bytes = 0;
  let nextNotice = every;
  let since: number | undefined;
  let fail: ((err: Error) => void) | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let cancelled = false;
  const stop = () => {
    clearInterval(ticker);
    ticker = undefined;
  };
  const stalled = () =>
    new TimeoutError(
      method,
      url,
      bytes === 0
        ? 'no data in the response body'
        : `response body trickling (${bytes} bytes in ${formatMs(o.timeoutMs)})`,
      o.timeoutMs,
    );
  /** Close the window once a timeout's worth of waiting is in it: too few bytes is a stall. */
  const windowCheck = (total: number): Error | undefined => {
    if (total < o.timeoutMs) {
      if (o.onWait && bytes < minBytes && total >= nextNotice) {
        o.onWait(waitEvent(method, url, 'body', total, o));
        nextNotice += every;
      }
      return undefined;
    }
    if (bytes < minBytes) return stalled();
    waited = 0;
    bytes = 0;
    nextNotice = every;
    if (since !== undefined) since = Date.now();
    return undefined;
  };
  const check = () => {
    if (since === undefined) return;
    const err = windowCheck(waited + Date.now() - since);
    if (err) fail?.(err);
  };
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      ticker ??= setInterval(check, tick);
      since = Date.now();
      const read = await new Promise<ReadableStreamReadResult<Uint8Array>>((resolve, reject) => {
        fail = (err) => {
          fail = undefined;
          stop();
          reader.cancel(err).catch(() => {});
          reject(err);
        };
        reader.read().then(resolve, (err: unknown) => {
          stop();
          reject(err);
        });
      }).finally(() => {
        fail = undefined;
      });
      waited += Date.now() - (since ?? Date.now());
      since = undefined;
      if (read.done) {
        stop();
        if (!cancelled) controller.close();
        return;
      }
      bytes += read.value.byteLength;
      const err = windowCheck(waited);
      if (err) {
        stop();
        await reader.cancel(err).catch(() => {});
        throw err;
      }
      if (!cancelled) controller.enqueue(read.value);
    },
    cancel: (reason) => {
      cancelled = true;
      stop();
      return reader.cancel(reason);
    },
  });
}
