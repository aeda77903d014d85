import { Readable } from 'node:stream';
import { Agent, type Dispatcher, fetch, Headers, Response, request } from 'undici';
import { ConnectionError, RegistryError, type RegistryErrorEntry } from './errors.ts';
import { isLoopbackHost } from './reference.ts';
import { parseRetryAfter } from './retry.ts';

export type { Response } from 'undici';

export interface TransportOptions {
  /** Talk plain HTTP to a non-loopback registry. Loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`) always do. */
  insecure?: boolean;
  /** An undici dispatcher to use instead of the transport's own keep-alive `Agent` (not closed by `close()`). */
  dispatcher?: Dispatcher;
  /** Connections per origin for the transport's own `Agent` (default 8). */
  connections?: number;
  userAgent?: string;
  /** Wait this long for response headers (default 120 s; a registry may hash a large blob before answering). */
  headersTimeoutMs?: number;
}

/**
 * A request body that can be sent again: bytes, or a stream opened afresh for each send (a 401 re-sent with
 * fresh credentials, a retried request) with its exact length, so it goes out with `Content-Length`, unbuffered.
 */
export interface StreamBody {
  open(): AsyncIterable<Uint8Array>;
  length: number;
}

/** One HTTP exchange. `body` is bytes or a {@link StreamBody}, so that it can be replayed on retry. */
export interface HttpRequest {
  method: string;
  url: string | URL;
  headers?: Record<string, string>;
  body?: Uint8Array | StreamBody | undefined;
}

function isStreamBody(body: HttpRequest['body']): body is StreamBody {
  return body !== undefined && !(body instanceof Uint8Array);
}

export const USER_AGENT = 'scratchpack-registry/0.1';

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
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly userAgent: string;

  constructor(host: string, options: TransportOptions = {}) {
    this.baseUrl = registryBaseUrl(host, options.insecure);
    this.userAgent = options.userAgent ?? USER_AGENT;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connections: options.connections ?? 8,
        keepAliveTimeout: 10_000,
        headersTimeout: options.headersTimeoutMs ?? 120_000,
        connect: { timeout: 10_000 },
      });
  }

  /** Resolve `path` (e.g. `/v2/`) or a `Location` (absolute or relative) against `base` (default the registry). */
  url(pathOrLocation: string, base: string | URL = this.baseUrl): URL {
    return new URL(pathOrLocation, base);
  }

  async send(req: HttpRequest): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...req.headers };
    try {
      if (isStreamBody(req.body)) return await this.sendStream(req, req.body, headers);
      return await fetch(req.url, {
        method: req.method,
        headers,
        body: req.body,
        redirect: 'manual',
        dispatcher: this.dispatcher,
      });
    } catch (err) {
      throw new ConnectionError(req.method, req.url, err);
    }
  }

  /**
   * A streamed body goes through undici's `request`, which writes the stream to the socket as it comes; `fetch`
   * would first wrap it in a web ReadableStream and costs about a quarter more time per byte. The answer is turned
   * into a fetch `Response` (its small body read first) so that callers see one kind of response.
   */
  private async sendStream(
    req: HttpRequest,
    body: StreamBody,
    headers: Record<string, string>,
  ): Promise<Response> {
    const res = await request(req.url, {
      method: req.method as Dispatcher.HttpMethod,
      headers: { ...headers, 'content-length': String(body.length) },
      body: Readable.from(body.open(), { objectMode: false }),
      dispatcher: this.dispatcher,
    });
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) out.append(k, one);
    }
    const text = await res.body.arrayBuffer();
    const noBody = [101, 204, 205, 304].includes(res.statusCode) || text.byteLength === 0;
    return new Response(noBody ? null : text, { status: res.statusCode, headers: out });
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
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
    text = method === 'HEAD' ? '' : await res.text();
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

/** Release a response body we do not need, so the connection goes back to the pool. */
export async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // already consumed or errored
  }
}
