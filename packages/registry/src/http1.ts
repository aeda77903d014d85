/**
 * Requests whose answer is at most a small document (HEAD, PUT, PATCH, DELETE, upload POSTs, streamed blob bodies)
 * through Node's own `http`/`https` with a keep-alive agent. Node's client is part of the runtime (its parser is
 * native, its code is in Node's snapshot), so a cold process pays about half of what undici's bundled, interpreted
 * client costs per request (1.0 vs 1.9 ms of CPU for a POST + PUT pair on loopback), and a streamed body is written
 * straight to the socket, each chunk's buffer handed back to its body once the socket has it (see
 * {@link StreamBody.ring}).
 */
import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import type { Deadline } from './watchdog.ts';

/** A body streamed in one request, with its exact length (sent as `Content-Length`). */
export interface StreamBody {
  open(): AsyncIterable<Uint8Array>;
  length: number;
  /**
   * Chunks the body's iterator may still be holding or reusing: the sender waits, before it asks for the next
   * chunk, until fewer than this many chunks it was given are still waiting to be written to the socket. A body
   * that reads into a ring of N buffers says N; unset: every chunk is a fresh buffer.
   */
  ring?: number;
}

/** Header names in lower case, as Node gives them; repeated ones joined with `, ` (as fetch's `Headers.get`). */
class AnswerHeaders {
  constructor(private readonly all: http.IncomingHttpHeaders) {}

  get(name: string): string | null {
    const v = this.all[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
}

/** An answer read whole: the parts of a fetch `Response` the client reads, without web streams unless asked. */
export class Answer {
  readonly headers: AnswerHeaders;

  constructor(
    readonly status: number,
    readonly statusText: string,
    headers: http.IncomingHttpHeaders,
    /** The body (up to the request's `maxBytes`). */
    readonly bytes: Buffer,
  ) {
    this.headers = new AnswerHeaders(headers);
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.bytes.byteLength === 0) return null;
    const bytes = this.bytes;
    return new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(bytes));
        controller.close();
      },
    });
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return new Uint8Array(this.bytes).buffer;
  }

  async text(): Promise<string> {
    return this.bytes.toString('utf8');
  }
}

export interface Http1Request {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: Uint8Array | StreamBody | undefined;
  signal: AbortSignal;
  /** Re-armed as each chunk of a streamed body goes out, then given `answerMs` once the body is sent. */
  deadline: Deadline;
  answerMs: number;
  /** Answer bodies are read up to this many bytes (the rest is dropped with the connection). */
  maxBytes: number;
}

const EMPTY = Buffer.alloc(0);

const require = createRequire(import.meta.url);

/** One keep-alive agent per scheme, `connections` sockets per origin; `https` (and TLS) loaded on first use. */
export class Http1Agents {
  private readonly http: http.Agent;
  private tls: { module: typeof https; agent: https.Agent } | undefined;
  private readonly options: http.AgentOptions;

  /** `connectTimeoutMs`: a new connection not made in this long fails as `ETIMEDOUT` (CONNECTION_TIMEOUT). */
  constructor(
    connections: number,
    private readonly connectTimeoutMs: number,
  ) {
    this.options = { keepAlive: true, maxSockets: connections, scheduling: 'lifo' };
    this.http = new http.Agent(this.options);
  }

  private secure(): { module: typeof https; agent: https.Agent } {
    if (!this.tls) {
      const module = require('node:https') as typeof https;
      this.tls = { module, agent: new module.Agent(this.options) };
    }
    return this.tls;
  }

  send(req: Http1Request): Promise<Answer> {
    const secure = req.url.protocol === 'https:';
    const headers: Record<string, string> = { ...req.headers };
    const stream = streamBody(req.body);
    const bytes = stream ? undefined : (req.body as Uint8Array | undefined);
    if (stream) headers['content-length'] = String(stream.length);
    else if (bytes || ['POST', 'PUT', 'PATCH'].includes(req.method))
      headers['content-length'] = String(bytes?.byteLength ?? 0);
    return new Promise<Answer>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        r.destroy();
        reject(err);
      };
      const tls = secure ? this.secure() : undefined;
      const r = (tls?.module ?? http).request(req.url, {
        method: req.method,
        headers,
        agent: tls?.agent ?? this.http,
        signal: req.signal,
      });
      let bodySent = !stream;
      r.on('error', fail);
      r.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => {
          const err = new Error(`no connection to ${req.url.host} after ${this.connectTimeoutMs} ms`);
          r.destroy(Object.assign(err, { code: 'ETIMEDOUT' }));
        }, this.connectTimeoutMs);
        const clear = () => clearTimeout(timer);
        socket.once('connect', clear);
        socket.once('close', clear);
      });
      r.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          if (settled) return;
          settled = true;
          const status = res.statusCode ?? 0;
          // A HEAD and these statuses have no body, whatever a server sends.
          const none = req.method === 'HEAD' || [101, 204, 205, 304].includes(status);
          resolve(
            new Answer(status, res.statusMessage ?? '', res.headers, none ? EMPTY : Buffer.concat(chunks)),
          );
          // An answer that came before the whole body went out (an early 4xx): the connection cannot be reused.
          if (!bodySent || size > req.maxBytes) r.destroy();
        };
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > req.maxBytes) {
            chunks.push(c.subarray(0, c.length - (size - req.maxBytes)));
            done();
            return;
          }
          chunks.push(c);
        });
        res.on('end', done);
        res.on('error', fail);
      });
      if (!stream) {
        r.end(bytes);
        return;
      }
      writeStream(r, stream, req.deadline).then(() => {
        bodySent = true;
        req.deadline.rearm(req.answerMs);
      }, fail);
    });
  }

  close(): void {
    this.http.destroy();
    this.tls?.agent.destroy();
  }
}

function streamBody(body: Http1Request['body']): StreamBody | undefined {
  return body !== undefined && !(body instanceof Uint8Array) ? body : undefined;
}

/**
 * Write `body` to `r` and end it: each chunk as it comes (the deadline re-armed per chunk), waiting for `drain`
 * when the socket is full, and — for a body that reuses its buffers — until the socket took the chunks it may
 * reuse next. An error of the body (a size or digest mismatch) rejects before `end()`: the request is destroyed
 * short of its `Content-Length`, so the registry never completes the upload.
 */
async function writeStream(r: http.ClientRequest, body: StreamBody, deadline: Deadline): Promise<void> {
  const ring = body.ring ?? Number.POSITIVE_INFINITY;
  let pending = 0;
  let wake: (() => void) | undefined;
  let broken: Error | undefined;
  const onClose = () => {
    broken ??= new Error('the connection closed while the request body was being sent');
    wake?.();
  };
  r.once('close', onClose);
  const written = () => {
    pending--;
    wake?.();
  };
  const waitFor = (ok: () => boolean) =>
    new Promise<void>((resolve) => {
      if (ok() || broken) return resolve();
      wake = () => {
        if (ok() || broken) {
          wake = undefined;
          resolve();
        }
      };
    });
  try {
    for await (const chunk of body.open()) {
      if (broken) throw broken;
      deadline.progress();
      pending++;
      const more = r.write(chunk, written);
      let drained = more;
      if (!more)
        r.once('drain', () => {
          drained = true;
          wake?.();
        });
      await waitFor(() => drained && pending < ring);
      if (broken) throw broken;
    }
    await new Promise<void>((resolve) => r.end(resolve));
  } finally {
    r.off('close', onClose);
  }
}
