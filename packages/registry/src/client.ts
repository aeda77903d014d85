import { allowManyAbortListeners } from '@scratchpack/oci';
import { Authenticator } from './auth.ts';
import { type Credential, type CredentialsHost, resolveCredentials } from './credentials.ts';
import { RegistryError } from './errors.ts';
import { apiHost } from './reference.ts';
import { type RetryInfo, type RetryPolicy, retryPolicy, withRetry } from './retry.ts';
import {
  discard,
  type HttpRequest,
  MAX_ANSWER_BYTES,
  type Response,
  responseError,
  Transport,
  type TransportOptions,
} from './transport.ts';
import type { WaitEvent } from './watchdog.ts';

export interface ClientOptions extends TransportOptions {
  /** Use exactly this credential (`null`: anonymous). Otherwise it is looked up with {@link resolveCredentials}. */
  credential?: Credential | null;
  /** Explicit username/password for the lookup (the CLI's `--username --password-stdin`). */
  username?: string;
  password?: string;
  /** Injected env/fs/helper runner for the lookup (tests). */
  credentialsHost?: Partial<CredentialsHost>;
  retry?: Partial<RetryPolicy>;
  /** Called before every retry wait, with what failed. */
  onRetry?: (info: RetryInfo) => void;
}

/** A request through the client: the expected statuses, the token scopes it needs, whether to retry it. */
export interface ClientRequest extends HttpRequest {
  /** Statuses that mean success; anything else becomes a {@link RegistryError}. */
  expect: readonly number[];
  scopes: readonly string[];
  /** Retry temporary failures of this one request (default true). Upload steps say false: see blobs.ts. */
  retry?: boolean;
}

/**
 * One registry host: transport + authentication + retries. Protocol steps (blobs.ts, manifests.ts) are plain
 * functions taking a client; push/pull compose them.
 */
export class RegistryClient {
  readonly registry: string;
  readonly transport: Transport;
  readonly auth: Authenticator;
  readonly policy: RetryPolicy;
  /** Told before every retry wait (a request, or a whole upload session). */
  onRetry: ((info: RetryInfo) => void) | undefined;
  private pinged: Promise<void> | undefined;

  constructor(
    registry: string,
    readonly credential: Credential | undefined,
    options: ClientOptions = {},
  ) {
    this.registry = registry;
    this.transport = new Transport(apiHost(registry), options);
    this.auth = new Authenticator(this.transport, credential);
    this.policy = retryPolicy(options.retry);
    this.onRetry = options.onRetry;
  }

  /** A client for `registry`, with credentials looked up unless given. */
  static async create(registry: string, options: ClientOptions = {}): Promise<RegistryClient> {
    const credential =
      options.credential === null
        ? undefined
        : (options.credential ??
          (await resolveCredentials(registry, {
            username: options.username,
            password: options.password,
            host: options.credentialsHost,
          })));
    return new RegistryClient(registry, credential, options);
  }

  /** `http(s)://host/v2/<repository>/<rest>`. */
  url(repository: string, rest: string): URL {
    return this.transport.url(`/v2/${repository}/${rest}`);
  }

  /**
   * `GET /v2/`: checks that a registry answers and learns how it wants to be authenticated (a 401 with
   * `WWW-Authenticate`). Done once, before the first request; retried like any request.
   */
  ping(): Promise<void> {
    this.pinged ??= withRetry(() => this.pingOnce(), this.policy, this.onRetry, this.signal).catch((err) => {
      this.pinged = undefined;
      throw err;
    });
    return this.pinged;
  }

  private async pingOnce(): Promise<void> {
    const url = this.transport.url('/v2/');
    const res = await this.transport.send({ method: 'GET', url, answerLimit: MAX_ANSWER_BYTES });
    if (res.status === 200 || (res.status === 401 && this.auth.learn(res.headers.get('www-authenticate')))) {
      await discard(res);
      return;
    }
    const err = await responseError('GET', url, res);
    if (res.status === 404) {
      throw new RegistryError({
        status: 404,
        method: 'GET',
        url,
        errors: [{ code: 'UNSUPPORTED', message: 'no registry API (/v2/) at this address' }],
      });
    }
    throw err;
  }

  /**
   * Send `req` with the right `Authorization`; on a 401 learn the new challenge and try once more with fresh
   * credentials (a token can expire mid-push); turn unexpected statuses into {@link RegistryError}; retry
   * temporary failures unless `req.retry === false`.
   */
  async request(req: ClientRequest): Promise<Response> {
    await this.ping();
    const once = async (): Promise<Response> => {
      let res = await this.sendAuthorized(req);
      if (res.status === 401) {
        await discard(res);
        if (this.auth.learn(res.headers.get('www-authenticate'), req.scopes))
          res = await this.sendAuthorized(req);
      }
      if (!req.expect.includes(res.status)) {
        const err = await responseError(req.method, req.url, res, this.auth.secrets());
        throw err instanceof RegistryError && err.status === 401 ? this.unauthorized(err) : err;
      }
      return res;
    };
    return req.retry === false
      ? once()
      : withRetry(once, this.policy, this.onRetry, req.signal ?? this.signal);
  }

  private async sendAuthorized(req: ClientRequest): Promise<Response> {
    const authorization = await this.auth.authorization(req.scopes);
    const headers = { ...req.headers, ...(authorization && { authorization }) };
    return this.transport.send({
      method: req.method,
      url: req.url,
      headers,
      body: req.body,
      ...(req.answerLimit !== undefined && { answerLimit: req.answerLimit }),
      ...(req.signal && { signal: req.signal }),
    });
  }

  /** The signal of the client's current operation (its transport's): every request and retry wait stops on it. */
  get signal(): AbortSignal | undefined {
    return this.transport.signal;
  }

  /** Report a retry of a multi-request step (an upload session restarted). */
  retried(info: RetryInfo): void {
    this.onRetry?.(info);
  }

  /** A 401 that says whether credentials were missing or refused, and how to fix either. */
  private unauthorized(err: RegistryError): RegistryError {
    const host = this.registry;
    const hint = this.credential
      ? `${host} refused the credentials from ${this.credential.source}: check the username and password, or replace them with \`scratchpack login ${host}\``
      : `no credentials for ${host}: run \`scratchpack login ${host}\` (or pass --username with --password-stdin, or set REGISTRY_USERNAME and REGISTRY_PASSWORD)`;
    return new RegistryError({
      status: err.status,
      method: err.method,
      url: err.url,
      errors: err.errors,
      retryAfterMs: err.retryAfterMs,
      hint,
    });
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** What push and pull report before each retry wait. */
export interface RetryEvent {
  type: 'retry';
  attempt: number;
  delayMs: number;
  code: string;
  message: string;
}

/**
 * The client a push or pull works with: `options.client` (reporting its retries and waits from now on) or a new
 * one for `registry`. Every retry goes to `options.onRetry` and, as a {@link RetryEvent}, to `report`; every
 * notice of a registry keeping us waiting to `options.onWait` and, as a {@link WaitEvent}, to `report`.
 * `options.signal` cancels every request of the operation (also on a given client, until its next operation).
 */
export async function clientFor(
  registry: string,
  options: ClientOptions & { client?: RegistryClient | undefined },
  report: (event: RetryEvent | WaitEvent) => void,
): Promise<RegistryClient> {
  allowManyAbortListeners(options.signal);
  const onWait = (event: WaitEvent) => {
    options.onWait?.(event);
    report(event);
  };
  const onRetry = (info: RetryInfo) => {
    options.onRetry?.(info);
    report({
      type: 'retry',
      attempt: info.attempt,
      delayMs: info.delayMs,
      code: info.error.code,
      message: info.error.message,
    });
  };
  if (options.client) {
    options.client.onRetry = onRetry;
    options.client.transport.onWait = onWait;
    options.client.transport.signal = options.signal;
    return options.client;
  }
  return RegistryClient.create(registry, { ...options, onRetry, onWait });
}
