import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './ports.ts';

/**
 * A misbehaving registry on loopback, to prove that a pull always ends, bounded: it serves the documents it is
 * given (`content`: path → bytes) like a registry would, except where a rule tells it to misbehave — a blob
 * longer than its descriptor, a body without end, a huge manifest, a body trickled a byte at a time, or no
 * answer at all. It counts the bytes it managed to send per request, so tests can assert the client stopped.
 */
export type HostileAction =
  /** The real body, then `bytes` more (`Infinity`: without end); `Content-Length` as the body really is, or none. */
  | { extraBytes: number; contentLength?: 'real' | 'none' }
  /** Answer `Content-Length: <bytes>` and send that many bytes of padding (a huge manifest). */
  | { hugeBytes: number; contentLength?: 'real' | 'none' }
  /** The real body, one byte every `everyMs` (no `Content-Length`). */
  | { trickleEveryMs: number }
  /** Read the request and never answer (no status line, no headers). */
  | { silent: true }
  /** Answer this status with these headers and body (e.g. a 401 challenge pointing at a hostile token realm). */
  | { status: number; headers?: Record<string, string>; body?: string };

export interface HostileRule {
  /** Requests whose path (with query) contains this string or matches this expression. */
  path: RegExp | string;
  /** Only this method (any when absent). */
  method?: string;
  action: HostileAction;
}

export interface HostileRequest {
  method: string;
  path: string;
  status: number;
  /** Body bytes written to the socket for this request (so far). */
  bytesSent: number;
  /** The client closed the connection before the body ended (it gave up, as it should). */
  closedEarly: boolean;
  action?: HostileAction;
}

export interface HostileContent {
  body: Buffer;
  contentType?: string;
}

export interface HostileRegistry {
  url: string;
  /** `127.0.0.1:<port>`, for image references. */
  host: string;
  port: number;
  requests: HostileRequest[];
  setRules(rules: HostileRule[]): void;
  /** Add or replace served documents. */
  serve(path: string, content: HostileContent): void;
  stop(): Promise<void>;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x20);

function matches(rule: HostileRule, method: string, path: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method) return false;
  return typeof rule.path === 'string' ? path.includes(rule.path) : rule.path.test(path);
}

/** Send padding until `total` bytes went out (`Infinity`: until the client goes away), as fast as it reads. */
function pump(res: ServerResponse, record: HostileRequest, total: number, done: () => void): void {
  const step = () => {
    while (!res.destroyed && record.bytesSent < total) {
      const n = Math.min(CHUNK.length, total - record.bytesSent);
      record.bytesSent += n;
      if (!res.write(CHUNK.subarray(0, n))) {
        res.once('drain', step);
        return;
      }
    }
    if (!res.destroyed) done();
  };
  step();
}

export async function startHostileRegistry(
  options: { content?: Record<string, HostileContent>; rules?: HostileRule[] } = {},
): Promise<HostileRegistry> {
  const content = new Map(Object.entries(options.content ?? {}));
  let rules = options.rules ?? [];
  const requests: HostileRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const record: HostileRequest = { method, path, status: 0, bytesSent: 0, closedEarly: false };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.closedEarly = true;
    });
    req.resume();
    const action = rules.find((r) => matches(r, method, path))?.action;
    if (action) record.action = action;
    if (action && 'silent' in action) return;
    if (action && 'status' in action) {
      record.status = action.status;
      res.writeHead(action.status, action.headers ?? {});
      res.end(action.body ?? '');
      return;
    }

    const pathOnly = path.split('?')[0]!;
    if (pathOnly === '/v2/' || pathOnly === '/v2') {
      record.status = 200;
      res.writeHead(200, {
        'content-type': 'application/json',
        'docker-distribution-api-version': 'registry/2.0',
      });
      res.end('{}');
      return;
    }
    const doc = content.get(pathOnly);
    if (!doc) {
      record.status = 404;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'not here' }] }));
      return;
    }
    const headers: Record<string, string> = { 'content-type': doc.contentType ?? 'application/octet-stream' };
    record.status = 200;
    if (method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-length': String(doc.body.length) }).end();
      return;
    }
    if (!action) {
      res.writeHead(200, { ...headers, 'content-length': String(doc.body.length) });
      record.bytesSent = doc.body.length;
      res.end(doc.body);
      return;
    }
    if ('extraBytes' in action) {
      const total = doc.body.length + action.extraBytes;
      if (action.contentLength !== 'none' && Number.isFinite(total))
        headers['content-length'] = String(total);
      res.writeHead(200, headers);
      record.bytesSent = doc.body.length;
      res.write(doc.body);
      pump(res, record, total, () => res.end());
      return;
    }
    if ('hugeBytes' in action) {
      if (action.contentLength !== 'none') headers['content-length'] = String(action.hugeBytes);
      res.writeHead(200, headers);
      pump(res, record, action.hugeBytes, () => res.end());
      return;
    }
    res.writeHead(200, headers);
    res.flushHeaders();
    let i = 0;
    const tick = setInterval(() => {
      if (res.destroyed || i >= doc.body.length) {
        clearInterval(tick);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(doc.body.subarray(i, i + 1));
      i++;
      record.bytesSent = i;
    }, action.trickleEveryMs);
    timers.add(tick);
  };

  const server: Server = createServer(handle);
  const { url, host, port } = await listenOnLoopback(server);
  return {
    url,
    host,
    port,
    requests,
    setRules: (next) => {
      rules = next;
    },
    serve: (path, doc) => {
      content.set(path, doc);
    },
    stop: () =>
      new Promise((resolve) => {
        for (const t of timers) clearInterval(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
