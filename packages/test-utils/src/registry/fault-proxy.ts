import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { listenOnLoopback } from './ports.ts';

/**
 * A loopback HTTP proxy in front of a registry that counts requests and injects faults, to prove retries and
 * "no half-published tag". It forwards the `Host` header unchanged, so the registry's absolute `Location`s point
 * back at the proxy.
 */
export type FaultAction =
  /** Answer this status (the request is not forwarded); e.g. 500, or 429 with `Retry-After`. */
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Forward the request, but cut both connections once this many request-body bytes went through. */
  | { dropAfterBytes: number }
  /** Forward the request, but cut the connection once this many response-body bytes went back. */
  | { dropResponseAfterBytes: number }
  /** Close the connection without answering. */
  | { drop: true }
  /** Read the request, never forward it and never answer: the client waits until it gives up. */
  | { stall: true }
  /** Forward the request, but after this many request-body bytes stop reading it (the upload hangs). */
  | { stallAfterBytes: number }
  /** Forward the request and the answer's headers, then this many response-body bytes, then nothing more. */
  | { stallResponseAfterBytes: number };

export interface FaultRule {
  /** Only requests with this method (any when absent). */
  method?: string;
  /** Only requests whose path+query matches (a string matches as a substring). */
  path?: RegExp | string;
  /** The first matching request to fault, counting from 1 (default 1). */
  nth?: number;
  /** How many matching requests, from `nth` on, get the fault (default 1; `Infinity` for every one). */
  times?: number;
  action: FaultAction;
}

export interface ProxiedRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** Upstream status, the injected status, or 0 when the connection was cut. */
  status: number;
  /** Set when a rule applied: `status 500`, `drop after 1024 bytes`, `drop`. */
  fault?: string;
  /** The request's `Content-Length` (0 when absent). */
  length: number;
  /** When the request arrived and when its answer ended or its connection closed (`performance.now()`). */
  start: number;
  end?: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` for image references. */
  host: string;
  port: number;
  requests: ProxiedRequest[];
  /** Requests seen, optionally filtered by method and path. */
  count(method?: string, path?: RegExp | string): number;
  /** Requests that were faulted. */
  faults(): ProxiedRequest[];
  /** The most requests matching `filter` that were in flight at the same moment. */
  peakInFlight(filter: (r: ProxiedRequest) => boolean): number;
  /**
   * Resolves once a request is stalled (a `stall*` rule reached its point), with that request: the moment to
   * cancel the client, without racing it. A stalled request ends when the client goes away.
   */
  stalled(): Promise<ProxiedRequest>;
  /** Replace the rules (their counters start again). */
  setRules(rules: FaultRule[]): void;
  /** Forget the recorded requests. */
  reset(): void;
  stop(): Promise<void>;
}

function matches(path: RegExp | string | undefined, value: string): boolean {
  if (path === undefined) return true;
  return typeof path === 'string' ? value.includes(path) : path.test(value);
}

export async function startFaultProxy(target: string, rules: FaultRule[] = []): Promise<FaultProxy> {
  const upstream = new URL(target);
  let active = rules.map((rule) => ({ rule, seen: 0 }));
  const requests: ProxiedRequest[] = [];
  const stallWaiters: ((r: ProxiedRequest) => void)[] = [];
  const stallSeen: ProxiedRequest[] = [];
  const stalledNow = (record: ProxiedRequest, fault: string) => {
    record.fault = fault;
    const waiter = stallWaiters.shift();
    if (waiter) waiter(record);
    else stallSeen.push(record);
  };

  const pick = (method: string, path: string): FaultAction | undefined => {
    for (const r of active) {
      if (r.rule.method && r.rule.method.toUpperCase() !== method) continue;
      if (!matches(r.rule.path, path)) continue;
      r.seen++;
      const nth = r.rule.nth ?? 1;
      const times = r.rule.times ?? 1;
      if (r.seen >= nth && r.seen < nth + times) return r.rule.action;
    }
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const record: ProxiedRequest = {
      method,
      path,
      status: 0,
      length: Number(req.headers['content-length'] ?? 0),
      start: performance.now(),
    };
    requests.push(record);
    res.on('close', () => {
      record.end = performance.now();
    });
    const action = pick(method, path);

    if (action && 'status' in action) {
      record.status = action.status;
      record.fault = `status ${action.status}`;
      req.resume();
      req.on('end', () => {
        const body =
          action.body ?? JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'injected fault' }] });
        res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers }).end(body);
      });
      return;
    }
    if (action && 'drop' in action) {
      record.fault = 'drop';
      req.socket.destroy();
      return;
    }
    if (action && 'stall' in action) {
      req.resume();
      stalledNow(record, 'stall');
      return;
    }

    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method, path, headers: req.headers },
      (up) => {
        record.status = up.statusCode ?? 0;
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (action && 'stallResponseAfterBytes' in action) {
          const limit = action.stallResponseAfterBytes;
          let sent = 0;
          let stalled = false;
          const stall = () => {
            if (stalled) return;
            stalled = true;
            up.pause();
            stalledNow(record, `stall response after ${limit} bytes`);
          };
          res.on('close', () => up.destroy());
          if (limit === 0) stall();
          up.on('data', (chunk: Buffer) => {
            if (stalled) return;
            const room = limit - sent;
            sent += Math.min(room, chunk.length);
            res.write(chunk.subarray(0, room));
            if (sent >= limit) stall();
          });
          up.on('end', () => {
            if (!stalled) res.end();
          });
          return;
        }
        if (action && 'dropResponseAfterBytes' in action) {
          record.fault = `drop response after ${action.dropResponseAfterBytes} bytes`;
          let sent = 0;
          up.on('data', (chunk: Buffer) => {
            if (sent >= action.dropResponseAfterBytes) return;
            const room = action.dropResponseAfterBytes - sent;
            sent += Math.min(room, chunk.length);
            res.write(chunk.subarray(0, room), () => {
              if (sent >= action.dropResponseAfterBytes) req.socket.destroy();
            });
          });
          up.on('end', () => req.socket.destroy());
          return;
        }
        up.pipe(res);
      },
    );
    out.on('error', () => {
      req.socket.destroy();
    });
    if (action && 'stallAfterBytes' in action) {
      const limit = action.stallAfterBytes;
      let sent = 0;
      let stalled = false;
      const stall = () => {
        stalled = true;
        req.pause();
        stalledNow(record, `stall after ${limit} bytes`);
      };
      // The client gave up: let the upstream request go too (the registry sees a broken upload).
      req.socket.on('close', () => out.destroy());
      if (limit === 0) stall();
      req.on('data', (chunk: Buffer) => {
        if (stalled) return;
        const room = limit - sent;
        out.write(chunk.subarray(0, room));
        sent += Math.min(room, chunk.length);
        if (sent >= limit) stall();
      });
      req.on('end', () => {
        if (!stalled) out.end();
      });
      return;
    }
    if (action && 'dropAfterBytes' in action) {
      record.fault = `drop after ${action.dropAfterBytes} bytes`;
      let sent = 0;
      const cut = () => {
        out.destroy();
        req.socket.destroy();
      };
      req.on('data', (chunk: Buffer) => {
        if (sent >= action.dropAfterBytes) return;
        const room = action.dropAfterBytes - sent;
        out.write(chunk.subarray(0, room));
        sent += Math.min(room, chunk.length);
        if (sent >= action.dropAfterBytes) cut();
      });
      req.on('end', cut);
      return;
    }
    req.pipe(out);
  };

  const server: Server = createServer(handle);
  const { url, host, port } = await listenOnLoopback(server);
  return {
    url,
    host,
    port,
    requests,
    count: (method, path) =>
      requests.filter((r) => (!method || r.method === method.toUpperCase()) && matches(path, r.path)).length,
    faults: () => requests.filter((r) => r.fault !== undefined),
    peakInFlight: (filter) => {
      const edges = requests
        .filter(filter)
        .flatMap((r) => [
          { at: r.start, d: 1 },
          { at: r.end ?? Number.POSITIVE_INFINITY, d: -1 },
        ])
        .sort((a, b) => a.at - b.at || a.d - b.d);
      let now = 0;
      let peak = 0;
      for (const e of edges) {
        now += e.d;
        peak = Math.max(peak, now);
      }
      return peak;
    },
    stalled: () => {
      const seen = stallSeen.shift();
      return seen ? Promise.resolve(seen) : new Promise((resolve) => stallWaiters.push(resolve));
    },
    setRules: (next) => {
      active = next.map((rule) => ({ rule, seen: 0 }));
    },
    reset: () => {
      requests.length = 0;
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
