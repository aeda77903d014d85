import { AbortedError, allowManyAbortListeners, throwIfAborted } from '@scratchpack/oci';
import type { Agent, Dispatcher } from 'undici';
import { ConnectionError, malformedResponseError, RegistryError, type RegistryErrorEntry } from './errors.ts';
import { Answer, Http1Agents, type StreamBody } from './http1.ts';
import { redactUrl } from './redact.ts';
import { isLoopbackHost } from './reference.ts';
import { parseRetryAfter } from './retry.ts';
import { DEFAULT_TIMEOUT_MS, Deadline, type TimeoutError, type WaitEvent, watchBody } from './watchdog.ts';

/**
 * What a request answers: the parts of a fetch `Response` the client reads. GETs answer with undici's fetch
 * `Response`; every other request with an {@link Answer} (its small body already read).
 */
export interface Response {
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}

/**
 * undici, loaded on the first GET: a push sends its few GETs (ping, tag list) through `http1.ts` too and never
 * loads it (half of the CLI bundle's bytes, tens of ms of start-up).
 */
let undici: ReturnType<typeof importUndici> | undefined;
const importUndici = () => import('undici');
const loadUndici = () => (undici ??= importUndici());

export interface TransportOptions {
  /** Talk plain HTTP to a non-loopback registry. Loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`) always do. */
  insecure?: boolean;
  /**
   * An undici dispatcher for GETs and token requests instead of the transport's own keep-alive `Agent` (not closed
   * by `close()`); every other request goes through Node's `http` (`http1.ts`).
   */
  dispatcher?: Dispatcher;
  /** Connections per origin for the transport's own `Agent` (default 16: a push runs 16 small requests at once). */
  connections?: number;
  userAgent?: string;
  /**
   * Idle/stall timeout (default 30 s, {@link DEFAULT_TIMEOUT_MS}): no response headers this long after a request
   * (or after the last byte of an upload the registry took), or a response body bringing less than 1 KiB in
   * this much waiting, ends the request with a {@link TimeoutError}.
   */
  timeoutMs?: number;
  /**
   * Wait this long for the answer to an upload once its body is sent (default the larger of `timeoutMs` and
   * 120 s: a registry may hash or copy a large blob before answering).
   */
  headersTimeoutMs?: number;
  /** Told while a registry keeps a request waiting (the CLI prints a notice). */
  onWait?: (event: WaitEvent) => void;
  /**
   * Cancels every request sent while it is set (settable, like `onWait`: a client works for its current
   * operation). An aborted request rejects with `AbortedError`, not with the socket's error.
   */
  signal?: AbortSignal | undefined;
}

export type { StreamBody } from './http1.ts';

/** One HTTP exchange. `body` is bytes or a {@link StreamBody}, so that it can be replayed on retry. */
export interface HttpRequest {
  method: string;
  url: string | URL;
  headers?: Record<string, string>;
  body?: Uint8Array | StreamBody | undefined;
  /** Cancels this request (default the transport's `signal`). */
  signal?: AbortSignal | undefined;
  /**
   * A GET whose answer is known to be small (the ping, a tag list): read whole, up to this many bytes, through the
   * small-answer path (a longer body is cut there; the caller sees the first `answerLimit` bytes).
   */
  answerLimit?: number;
}

function isStreamBody(body: HttpRequest['body']): body is StreamBody {
  return body !== undefined && !(body instanceof Uint8Array);
}

/**
 * Whether the answer to `req` is at most a small document (an error, an empty 201/202): a streamed upload, a HEAD,
 * a PUT, PATCH or DELETE, a POST without a body (an upload session), a GET with an `answerLimit`. Not another GET
 * (blobs, manifests are read as they come) nor a POST with a body (a token request, whose answer may be larger).
 */
function answerIsSmall(req: HttpRequest): boolean {
  if (isStreamBody(req.body) || req.answerLimit !== undefined) return true;
  return ['HEAD', 'PUT', 'PATCH', 'DELETE'].includes(req.method) || (req.method === 'POST' && !req.body);
}

export const USER_AGENT = 'scratchpack-registry/0.1';
/** Error bodies and answers to uploads are read up to this much (the rest is not worth holding). */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** `http://` for loopback hosts or when `insecure`, else `https://` (verified TLS). */
export function registryBaseUrl(host: string, insecure = false): string {
  return `${insecure || isLoopbackHost(host) ? 'http' : 'https'}://${host}`;
}

/**
 * The HTTP layer: Node's fetch implementation (undici) with a keep-alive agent and a per-origin connection limit.
 * It never follows redirects itself (callers decide whether credentials go along) and turns every network
 * failure into a {@link ConnectionError}. No retries, no auth: see `client.ts`.
 */
export class Transport {
  readonly baseUrl: string;
  private readonly given: Dispatcher | undefined;
  private agent: Promise<Agent> | undefined;
  private readonly connections: number;
  private readonly agents: Http1Agents;
  private readonly userAgent: string;
  readonly timeoutMs: number;
  private readonly answerTimeoutMs: number;
  /** Told while a registry keeps a request waiting; settable (a client reports to its current operation). */
  onWait: ((event: WaitEvent) => void) | undefined;
  /** Cancels every request sent while it is set; settable like `onWait`. */
  signal: AbortSignal | undefined;
  /** HTTP requests sent so far (every attempt: pings, tokens, retries). */
  requests = 0;

  constructor(host: string, options: TransportOptions = {}) {
    this.baseUrl = registryBaseUrl(host, options.insecure);
    this.userAgent = options.userAgent ?? USER_AGENT;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.answerTimeoutMs = options.headersTimeoutMs ?? Math.max(this.timeoutMs, 120_000);
    this.onWait = options.onWait;
    this.signal = options.signal;
    allowManyAbortListeners(this.signal);
    this.given = options.dispatcher;
    this.connections = options.connections ?? 16;
    this.agents = new Http1Agents(this.connections, Math.min(10_000, this.timeoutMs));
  }

  /** Resolve `path` (e.g. `/v2/`) or a `Location` (absolute or relative) against `base` (default the registry). */
  url(pathOrLocation: string, base: string | URL = this.baseUrl): URL {
    return new URL(pathOrLocation, base);
  }

  /**
   * Send one request. Its answer must start within the timeout (for an upload: of the last byte sent); the
   * body of the answer is watched for stalls as it is read. Network failures become {@link ConnectionError},
   * waiting too long a {@link TimeoutError}, an abort of the request's (or the transport's) signal
   * `AbortedError` — also for a response body read later.
   */
  async send(req: HttpRequest): Promise<Response> {
    this.requests++;
    const cancel = req.signal ?? this.signal;
    // Named only when it is needed: redacting a URL for every request was a tenth of a push's CPU time.
    const what = () => `${req.method} ${redactUrl(req.url)}`;
    if (cancel?.aborted) throwIfAborted(cancel, what());
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...req.headers };
    const abort = new AbortController();
    const onCancel = () => abort.abort(new AbortedError(what(), { cause: cancel?.reason }));
    cancel?.addEventListener('abort', onCancel, { once: true });
    // Unhooked when send ends, unless a streamed response body still needs it (then when the body ends).
    let bodyHolds = false;
    let timedOut: TimeoutError | undefined;
    const watch = { timeoutMs: this.timeoutMs, onWait: this.onWait };
    const deadline = new Deadline(this.timeoutMs, watch, req.method, req.url, (err) => {
      timedOut = err;
      abort.abort(err);
    });
    try {
      if (answerIsSmall(req)) return await this.sendAnswered(req, headers, abort.signal, deadline);
      const { fetch, Response } = await loadUndici();
      const res = await fetch(req.url, {
        method: req.method,
        headers,
        body: req.body as Uint8Array | undefined,
        redirect: 'manual',
        dispatcher: await this.dispatcher(),
        signal: abort.signal,
      });
      deadline.stop();
      if (!res.body) return res;
      if (req.method === 'HEAD' || res.headers.get('content-length') === '0') {
        // Read the empty body now: until it is read, undici keeps the connection out of the pool, and the
        // next request opens a new one (a push of many small blobs opened one for nearly every request).
        await res.arrayBuffer();
        return new Response(null, { status: res.status, statusText: res.statusText, headers: res.headers });
      }
      const body = watchBody(res.body, req.method, req.url, watch);
      bodyHolds = cancel !== undefined;
      return new Response(cancel ? abortedBody(body, cancel, what(), onCancel) : body, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    } catch (err) {
      if (cancel?.aborted) throw err instanceof AbortedError ? err : new AbortedError(what(), { cause: err });
      if (timedOut) throw timedOut;
      throw malformedResponseError(req.method, req.url, err) ?? new ConnectionError(req.method, req.url, err);
    } finally {
      deadline.stop();
      if (!bodyHolds) cancel?.removeEventListener('abort', onCancel);
    }
  }

  /**
   * A request whose answer is at most an error document (see {@link answerIsSmall}) goes through Node's own HTTP
   * client (`http1.ts`): half the CPU of undici's per request in a short-lived process, and a streamed body written
   * to the socket as it comes. The answer is turned into a fetch `Response` (its small body read first) so that
   * callers see one kind of response.
   */
  private async sendAnswered(
    req: HttpRequest,
    headers: Record<string, string>,
    signal: AbortSignal,
    deadline: Deadline,
  ): Promise<Response> {
    return this.agents.send({
      method: req.method,
      url: typeof req.url === 'string' ? new URL(req.url) : req.url,
      headers,
      body: req.body,
      signal,
      deadline,
      answerMs: this.answerTimeoutMs,
      maxBytes: req.answerLimit ?? MAX_ANSWER_BYTES,
    });
  }

  /** The dispatcher of GETs: the given one, or the transport's own keep-alive undici `Agent` (made on first use). */
  private dispatcher(): Promise<Dispatcher> {
    if (this.given) return Promise.resolve(this.given);
    // The Agent's own timers are a backstop only: the deadlines are what bounds a request.
    this.agent ??= loadUndici().then(
      ({ Agent }) =>
        new Agent({
          connections: this.connections,
          keepAliveTimeout: 10_000,
          headersTimeout: this.answerTimeoutMs + 1000,
          connect: { timeout: Math.min(10_000, this.timeoutMs) },
        }),
    );
    return this.agent;
  }

  async close(): Promise<void> {
    this.agents.close();
    if (this.agent) await (await this.agent).close();
  }
}

/**
 * `body`, whose errors become `AbortedError` once `signal` aborted; `onCancel` is unhooked from `signal` when the
 * body ends (so a long-lived operation signal does not collect listeners).
 */
function abortedBody(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  what: string,
  onCancel: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const done = () => signal.removeEventListener('abort', onCancel);
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      try {
        const r = await reader.read();
        if (r.done) {
          done();
          controller.close();
        } else controller.enqueue(r.value);
      } catch (err) {
        done();
        throw signal.aborted && !(err instanceof AbortedError) ? new AbortedError(what, { cause: err }) : err;
      }
    },
    cancel: (reason) => {
      done();
      return reader.cancel(reason);
    },
  });
}

/**
 * Turn an unexpected response into a {@link RegistryError}: read (and so release) its body, parse the spec's
 * `{"errors": [...]}`, keep `Retry-After`. `secrets` are scrubbed from the registry's messages.
 */
export async function responseError(
  method: string,
  url: string | URL,
  res: Response,
  secrets: Iterable<string | undefined> = [],
): Promise<RegistryError> {
  let errors: RegistryErrorEntry[] = [];
  let text = '';
  try {
    text =
      method === 'HEAD'
        ? ''
        : (await readBounded(res, MAX_ANSWER_BYTES, { truncate: true })).toString('utf8');
  } catch {
    // the body is a courtesy; the status says enough
  }
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    if (Array.isArray(parsed.errors)) {
      errors = parsed.errors
        .filter(
          (e): e is { code: string } => typeof e === 'object' && e !== null && typeof e.code === 'string',
        )
        .map((e) => e as RegistryErrorEntry);
    }
  } catch {
    const snippet = text.trim().slice(0, 200);
    if (snippet) errors = [{ code: 'UNKNOWN', message: snippet }];
  }
  return new RegistryError({
    status: res.status,
    method,
    url,
    errors,
    retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
    secrets,
  });
}

/** Bodies up to this size are read to their end by `discard`; cancelling one would close its connection. */
const DRAIN_BYTES = 64 * 1024;

/**
 * Release a response body we do not need, so the connection goes back to the pool. A small body (an error
 * document, an empty 201) is read to its end: cancelling a fetch body destroys the socket, and a push of many
 * small blobs then opened a new connection for nearly every request. A larger body is cancelled.
 */
export async function discard(res: Response): Promise<void> {
  if (res instanceof Answer) return;
  const body = res.body;
  if (!body) return;
  const length = Number(res.headers.get('content-length') ?? Number.NaN);
  const reader = body.getReader();
  try {
    if (length > DRAIN_BYTES) {
      await reader.cancel();
      return;
    }
    let read = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > DRAIN_BYTES) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // already consumed or errored
  } finally {
    reader.releaseLock();
  }
}

/**
 * A response body read into memory, never more than `limit` bytes: a `Content-Length` above it, or more bytes
 * than it, end the read (the connection is closed) with `tooLarge()` — or, with `truncate`, the first `limit`
 * bytes are returned.
 */
export async function readBounded(
  res: Response,
  limit: number,
  options: { truncate?: boolean; tooLarge?: (got: number) => Error } = {},
): Promise<Buffer> {
  const fail = (got: number) =>
    options.tooLarge?.(got) ?? new RangeError(`response body larger than ${limit} bytes (${got})`);
  if (res instanceof Answer) {
    if (res.bytes.byteLength <= limit) return res.bytes;
    if (options.truncate) return res.bytes.subarray(0, limit);
    throw fail(res.bytes.byteLength);
  }
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (!options.truncate && Number.isFinite(declared) && declared > limit) {
    await discard(res);
    throw fail(declared);
  }
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      await reader.cancel().catch(() => {});
      if (options.truncate) {
        chunks.push(value.subarray(0, limit - size));
        size = limit;
        break;
      }
      throw fail(size + value.byteLength);
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return Buffer.concat(chunks, size);
}
