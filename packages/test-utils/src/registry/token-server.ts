import { randomBytes, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { listenOnLoopback } from './ports.ts';
import { selfSignedCert } from './x509.ts';

/**
 * A Docker token server (the `realm` of `WWW-Authenticate: Bearer`) for distribution's `auth.token`, on 127.0.0.1.
 * It issues RS256 JWTs whose header carries the signing certificate in `x5c`; distribution 2.8 verifies that chain
 * against `rootcertbundle` (our self-signed cert), then `iss`, `aud` (= service), `exp`/`nbf` and the `access` claim.
 */
export interface TokenServerOptions {
  service: string;
  issuer: string;
  /** user → password. Authenticated users get every action they ask for. */
  users: Record<string, string>;
  /** Anonymous requests get `pull` (default false: nothing, so the registry answers 401). */
  anonymousPull?: boolean;
  /** `expires_in` in seconds (default 300). */
  lifetimeS?: number;
  /** Which field carries the token: `token`, `access_token` or both (default `token`). */
  field?: 'token' | 'access_token' | 'both';
}

export interface TokenRequest {
  user: string | undefined;
  scopes: string[];
  /** 200 when a token was issued, 401 for wrong credentials. */
  status: number;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** PEM for distribution's `rootcertbundle`. */
  certPem: string;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function parseScope(scope: string, allowed: (actions: string[]) => string[]): Access | undefined {
  // repository:<name>:<actions> — the name may contain ':' only with a port-less registry, so split from both ends.
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  const actions = allowed(
    scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  );
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

function basicUser(req: IncomingMessage): { user: string; password: string } | undefined {
  const h = req.headers.authorization;
  if (!h?.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? undefined : { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const cert = selfSignedCert(options.issuer);
  const requests: TokenRequest[] = [];
  const lifetime = options.lifetimeS ?? 300;
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [cert.certDer.toString('base64')] }));

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token' || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ').filter(Boolean));
    const creds = basicUser(req);
    if (creds && options.users[creds.user] !== creds.password) {
      requests.push({ user: creds.user, scopes, status: 401 });
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"details":"incorrect username or password"}');
      return;
    }
    const user = creds?.user;
    const allowed = (actions: string[]) =>
      user ? actions : options.anonymousPull ? actions.filter((a) => a === 'pull') : [];
    const access = scopes.map((s) => parseScope(s, allowed)).filter((a): a is Access => a !== undefined);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: options.issuer,
      sub: user ?? '',
      aud: options.service,
      exp: now + lifetime,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const payload = `${header}.${b64url(JSON.stringify(claims))}`;
    const token = `${payload}.${b64url(sign('sha256', Buffer.from(payload), cert.privateKey))}`;
    requests.push({ user, scopes, status: 200 });
    const body: Record<string, unknown> = {
      expires_in: lifetime,
      issued_at: new Date(now * 1000).toISOString(),
    };
    if (options.field !== 'access_token') body.token = token;
    if (options.field === 'access_token' || options.field === 'both') body.access_token = token;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  const { url } = await listenOnLoopback(server);
  return {
    realm: `${url}/token`,
    service: options.service,
    issuer: options.issuer,
    certPem: cert.certPem,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
