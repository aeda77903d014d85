import type { Credential } from './credentials.ts';
import { ProtocolError, RegistryError } from './errors.ts';
import { type Response, readBounded, responseError, type Transport } from './transport.ts';

/** A token response is a small JSON object; more than this is not one. */
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

/** One challenge of a `WWW-Authenticate` header. `scheme` is lowercased; parameter names too. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN_CHAR = /[A-Za-z0-9!#$%&'*+.^_`|~-]/;

/**
 * Parse a `WWW-Authenticate` header (RFC 7235): one or more challenges, each a scheme followed by
 * `key=value` or `key="quoted, \"escaped\" value"` parameters separated by commas, e.g.
 * `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"`.
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skip = (chars: RegExp) => {
    while (i < n && chars.test(header[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && TOKEN_CHAR.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  const quoted = (): string => {
    let out = '';
    i++; // opening quote
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++;
      out += header[i];
      i++;
    }
    i++; // closing quote
    return out;
  };
  /** An unquoted value: strictly a token, leniently anything up to `,` or whitespace (`realm=https://a/t`). */
  const bare = (): string => {
    const start = i;
    while (i < n && header[i] !== ',' && !/\s/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  /** At a parameter (`token =`), not at the next challenge's scheme? */
  const atParam = (): boolean => {
    let j = i;
    while (j < n && TOKEN_CHAR.test(header[j]!)) j++;
    if (j === i) return false;
    while (j < n && (header[j] === ' ' || header[j] === '\t')) j++;
    return header[j] === '=' && header[j + 1] !== '=';
  };

  while (i < n) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    skip(/[ \t]/);
    // a token68 (e.g. `Negotiate abc==`) is not used by registries: skip it
    if (i < n && header[i] !== ',' && !atParam()) {
      while (i < n && header[i] !== ',') i++;
    }
    for (;;) {
      skip(/[\s,]/);
      if (i >= n || !atParam()) break;
      const key = token().toLowerCase();
      skip(/[ \t]/);
      i++; // '='
      skip(/[ \t]/);
      challenge.params[key] = header[i] === '"' ? quoted() : bare();
    }
  }
  return challenges;
}

/** `repository:<name>:<actions>`, the scope a registry token is asked for. */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** Scopes for pushing to `repository`, plus pull on `mountFrom` when blobs may be mounted from there. */
export function pushScopes(repository: string, mountFrom?: string): string[] {
  const scopes = [repositoryScope(repository, ['pull', 'push'])];
  if (mountFrom && mountFrom !== repository) scopes.push(repositoryScope(mountFrom, ['pull']));
  return scopes;
}

export function pullScopes(repository: string): string[] {
  return [repositoryScope(repository, ['pull'])];
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

export const DEFAULT_TOKEN_LIFETIME_S = 60;

/**
 * Answers "what `Authorization` header goes with a request needing these scopes?".
 * Learns the registry's challenge from the ping (`GET /v2/`) or from any 401, then:
 * Basic → the credential's user/password; Bearer → a token from the realm (GET with Basic credentials or
 * anonymous; POST `grant_type=refresh_token` for an identity token), cached per scope set until shortly before
 * `expires_in` (default 60 s) runs out.
 */
export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();
  private readonly now: () => number;
  private readonly issued: string[] = [];

  constructor(
    private readonly transport: Transport,
    private readonly credential: Credential | undefined,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Strings that must never appear in messages: the password, identity token and every token issued. */
  secrets(): string[] {
    const c = this.credential;
    return [c?.password, c?.identityToken, c?.registryToken, ...this.issued].filter((s): s is string => !!s);
  }

  /** Whether a challenge is known yet. */
  get challenged(): boolean {
    return this.challenge !== undefined;
  }

  /**
   * Record the challenge of a 401 (or the ping). Drops cached tokens for `scopes`, so the next
   * {@link authorization} fetches a fresh one. Returns false when the header holds no usable challenge.
   */
  learn(header: string | null, scopes: readonly string[] = []): boolean {
    const challenges = header ? parseWwwAuthenticate(header) : [];
    const chosen =
      challenges.find((c) => c.scheme === 'bearer' && c.params.realm) ??
      challenges.find((c) => c.scheme === 'basic');
    this.tokens.delete(scopeKey(scopes));
    if (!chosen) return false;
    this.challenge = chosen;
    return true;
  }

  /** The `Authorization` header value for a request needing `scopes`, or undefined for anonymous. */
  async authorization(scopes: readonly string[]): Promise<string | undefined> {
    const c = this.credential;
    const challenge = this.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      return c?.username !== undefined && c.password !== undefined
        ? basic(c.username, c.password)
        : undefined;
    }
    if (c?.registryToken) return `Bearer ${c.registryToken}`;
    const key = scopeKey(scopes);
    const cached = this.tokens.get(key);
    if (cached && this.now() < cached.expiresAt) return `Bearer ${cached.value}`;
    // Concurrent requests needing the same scopes share one token request.
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.fetchToken(challenge, scopes).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    const token = await pending;
    this.tokens.set(key, token);
    return `Bearer ${token.value}`;
  }

  private async fetchToken(challenge: Challenge, scopes: readonly string[]): Promise<CachedToken> {
    const realm = challenge.params.realm!;
    const service = challenge.params.service;
    const wanted = [
      ...new Set([...scopes, ...(challenge.params.scope ? challenge.params.scope.split(' ') : [])]),
    ];
    const c = this.credential;
    const started = this.now();
    let res: Response;
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new ProtocolError(
        'PROTOCOL_VIOLATION',
        `token realm "${realm}" is not a URL`,
        'check the registry',
      );
    }
    let method = 'GET';
    if (c?.identityToken) {
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.identityToken });
      form.set('client_id', 'scratchpack');
      if (service) form.set('service', service);
      if (wanted.length) form.set('scope', wanted.join(' '));
      res = await this.transport.send({
        method,
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new TextEncoder().encode(form.toString()),
        answerLimit: MAX_TOKEN_RESPONSE_BYTES + 1,
      });
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of wanted) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (c?.username !== undefined && c.password !== undefined)
        headers.authorization = basic(c.username, c.password);
      res = await this.transport.send({ method, url, headers, answerLimit: MAX_TOKEN_RESPONSE_BYTES + 1 });
    }
    if (res.status !== 200) {
      const err = await responseError(method, url, res, this.secrets());
      // The token endpoint speaks OAuth, not the registry's error JSON: name the failure by status.
      if (err.status === 401 || err.status === 403) {
        throw new RegistryError({
          status: 401,
          method,
          url,
          errors: [{ code: 'UNAUTHORIZED', message: `token server refused the credentials (${err.status})` }],
        });
      }
      throw err;
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const bytes = await readBounded(res, MAX_TOKEN_RESPONSE_BYTES, {
      tooLarge: (got) =>
        new ProtocolError(
          'PROTOCOL_VIOLATION',
          `token response from ${url.origin} is larger than ${MAX_TOKEN_RESPONSE_BYTES} bytes (${got})`,
          'check the realm: it does not answer like a token server',
        ),
    });
    try {
      body = JSON.parse(bytes.toString('utf8')) as typeof body;
      if (typeof body !== 'object' || body === null) throw new TypeError('not an object');
    } catch {
      throw new ProtocolError(
        'PROTOCOL_VIOLATION',
        `token response from ${url.origin} is not JSON`,
        'check the realm',
      );
    }
    const value = typeof body.token === 'string' && body.token ? body.token : body.access_token;
    if (typeof value !== 'string' || !value) {
      throw new ProtocolError(
        'PROTOCOL_VIOLATION',
        `token response from ${url.origin} has neither "token" nor "access_token"`,
        'check the token realm',
      );
    }
    this.issued.push(value);
    const lifetimeS =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    // Renew a little early so a token does not expire between being handed out and being checked.
    const marginMs = Math.min(30_000, lifetimeS * 100);
    return { value, expiresAt: started + lifetimeS * 1000 - marginMs };
  }
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}
