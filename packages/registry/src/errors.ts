import { ScratchpackError } from '@scratchpack/oci';
import { redactText, redactUrl } from './redact.ts';

/**
 * Every error this package throws extends {@link RegistryClientError}, a `ScratchpackError`: a stable `code`, a
 * `hint` saying what to do next, and `temporary` (worth retrying). Messages never contain credentials or tokens,
 * and URLs are redacted.
 */
export abstract class RegistryClientError extends ScratchpackError {
  /** Each subclass's own, as a field (or set in its constructor): `ScratchpackError`'s is replaced. */
  abstract override readonly code: string;
  declare readonly hint: string;

  constructor(message: string, hint: string, temporary: boolean, options?: { cause?: unknown }) {
    super('', message, { hint, temporary, cause: options?.cause });
  }
}

/** A reference string that does not parse. */
export class InvalidReferenceError extends RegistryClientError {
  readonly code = 'REFERENCE_INVALID';
  override readonly name = 'InvalidReferenceError';
  readonly input: string;

  constructor(input: string, why: string, hint: string) {
    super(`invalid image reference "${redactText(input)}": ${why}`, hint, false);
    this.input = input;
  }
}

/** The error codes of the distribution spec, plus `UNKNOWN` for a response without a parseable body. */
export const REGISTRY_ERROR_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
  'UNAVAILABLE',
  'UNKNOWN',
] as const;
export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[number];

/** One entry of the spec's `{"errors": [{code, message, detail}]}` body. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

const TEMPORARY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TEMPORARY_CODES = new Set<string>(['TOOMANYREQUESTS', 'UNAVAILABLE']);

const HINTS: Record<RegistryErrorCode, string> = {
  BLOB_UNKNOWN: 'a blob the manifest refers to is not in this repository: push the blobs before the manifest',
  BLOB_UPLOAD_INVALID: 'the upload was rejected; retry the push (a proxy may have altered the body)',
  BLOB_UPLOAD_UNKNOWN: 'the upload session expired or was cancelled; retry the push',
  DIGEST_INVALID: 'the uploaded bytes do not match their digest: the local blob may be corrupted, rebuild it',
  MANIFEST_BLOB_UNKNOWN: 'a blob the manifest refers to is not in this repository: push the blobs first',
  MANIFEST_INVALID:
    'the registry rejected the manifest: check its mediaType and that the registry supports it',
  MANIFEST_UNKNOWN: 'no such tag or digest in this repository: check the reference (tags are case-sensitive)',
  NAME_INVALID: 'the repository name is not accepted by this registry: check the reference',
  NAME_UNKNOWN: 'the repository does not exist (or you cannot see it): check the name and your access',
  SIZE_INVALID: 'the uploaded size does not match: the local blob may be corrupted, rebuild it',
  UNAUTHORIZED:
    'check credentials: scratchpack login HOST / --username --password-stdin / REGISTRY_USERNAME+REGISTRY_PASSWORD',
  DENIED:
    'the credentials are valid but lack access: check the repository permissions (GHCR: packages: write)',
  UNSUPPORTED: 'the registry does not support this operation',
  TOOMANYREQUESTS: 'rate limited by the registry: wait and retry, or log in for a higher limit',
  UNAVAILABLE: 'the registry is temporarily unavailable: retry later',
  UNKNOWN: 'unexpected registry response: retry, and check the registry status',
};

function codeFromStatus(status: number): RegistryErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 429) return 'TOOMANYREQUESTS';
  if (status === 503) return 'UNAVAILABLE';
  return 'UNKNOWN';
}

/** An error response from a registry (any status the protocol step did not expect). */
export class RegistryError extends RegistryClientError {
  readonly code: RegistryErrorCode;
  override readonly name = 'RegistryError';
  readonly status: number;
  readonly method: string;
  /** Redacted. */
  readonly url: string;
  /** The registry's own message (redacted), if the body had one. */
  readonly registryMessage: string | undefined;
  /** Every error entry of the body (messages redacted). */
  readonly errors: RegistryErrorEntry[];
  /** Milliseconds from a `Retry-After` header, if any. */
  readonly retryAfterMs: number | undefined;

  constructor(init: {
    status: number;
    method: string;
    url: string | URL;
    errors?: RegistryErrorEntry[];
    retryAfterMs?: number | undefined;
    secrets?: Iterable<string | undefined>;
    /** Instead of the code's standard hint (e.g. one that knows whether credentials were sent). */
    hint?: string;
  }) {
    const secrets = [...(init.secrets ?? [])];
    const errors = (init.errors ?? []).map((e) => ({
      ...e,
      ...(e.message !== undefined && { message: redactText(e.message, secrets) }),
    }));
    const first = errors[0];
    const known = first && (REGISTRY_ERROR_CODES as readonly string[]).includes(first.code);
    const code =
      known && first.code !== 'UNKNOWN' ? (first.code as RegistryErrorCode) : codeFromStatus(init.status);
    const url = redactUrl(init.url);
    const registryMessage = first?.message;
    const temporary = TEMPORARY_STATUS.has(init.status) || errors.some((e) => TEMPORARY_CODES.has(e.code));
    const detail = registryMessage ? `: ${registryMessage}` : '';
    super(`${init.method} ${url}: ${init.status} ${code}${detail}`, init.hint ?? HINTS[code], temporary);
    this.code = code;
    this.status = init.status;
    this.method = init.method;
    this.url = url;
    this.registryMessage = registryMessage;
    this.errors = errors;
    this.retryAfterMs = init.retryAfterMs;
  }
}

export type ConnectionErrorCode =
  | 'CONNECTION_REFUSED'
  | 'CONNECTION_RESET'
  | 'CONNECTION_TIMEOUT'
  | 'HOST_NOT_FOUND'
  | 'TLS_ERROR'
  | 'CONNECTION_FAILED';

/** The request never got a response: refused, reset, timed out, DNS or TLS failure. */
export class ConnectionError extends RegistryClientError {
  readonly code: ConnectionErrorCode;
  override readonly name = 'ConnectionError';
  readonly method: string;
  readonly url: string;
  /** The low-level code (`ECONNREFUSED`, `UND_ERR_SOCKET`, …) when known. */
  readonly systemCode: string | undefined;

  constructor(method: string, url: string | URL, cause: unknown) {
    const systemCode = systemCodeOf(cause);
    const code = classifySystemCode(systemCode, cause);
    const redacted = redactUrl(url);
    const origin = safeOrigin(url);
    const hints: Record<ConnectionErrorCode, string> = {
      CONNECTION_REFUSED: `is the registry running at ${origin}?`,
      CONNECTION_RESET:
        'the connection dropped; retry (a proxy or load balancer may be cutting long uploads)',
      CONNECTION_TIMEOUT: `no answer from ${origin}: check the network, proxy settings and firewall`,
      HOST_NOT_FOUND: `cannot resolve ${origin}: check the registry host name`,
      TLS_ERROR: `TLS failed for ${origin}: for a plain-HTTP registry use --insecure; otherwise check its certificate (one from a private CA: NODE_EXTRA_CA_CERTS=/path/to/ca.pem)`,
      CONNECTION_FAILED: `cannot reach ${origin}: check the registry address and the network`,
    };
    const temporary = code !== 'TLS_ERROR' && code !== 'HOST_NOT_FOUND';
    const why = describeCause(cause, systemCode);
    super(`${method} ${redacted}: ${code}${why ? ` (${why})` : ''}`, hints[code], temporary, { cause });
    this.code = code;
    this.method = method;
    this.url = redacted;
    this.systemCode = systemCode;
  }
}

/** The registry answered, but not as the protocol says (missing `Location`, wrong digest, bad JSON). */
export class ProtocolError extends RegistryClientError {
  readonly code: 'DIGEST_MISMATCH' | 'SIZE_MISMATCH' | 'MANIFEST_TOO_LARGE' | 'PROTOCOL_VIOLATION';
  override readonly name = 'ProtocolError';

  constructor(code: ProtocolError['code'], message: string, hint: string, temporary = false) {
    super(redactText(message), hint, temporary);
    this.code = code;
  }
}

/** Credentials could not be looked up (a broken config file, a failing credential helper). */
export class CredentialsError extends RegistryClientError {
  readonly code = 'CREDENTIALS_ERROR';
  override readonly name = 'CredentialsError';

  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(redactText(message), hint, false, options);
  }
}

/**
 * The answer could not be parsed as HTTP (llhttp's `HPE_*`: a control character in a header such as
 * `WWW-Authenticate`, a bad status line): a protocol error of the registry, not a network failure to retry.
 */
export function malformedResponseError(
  method: string,
  url: string | URL,
  err: unknown,
): ProtocolError | undefined {
  const code = systemCodeOf(err);
  if (!code?.startsWith('HPE_')) return undefined;
  const why = describeCause(err, code);
  return new ProtocolError(
    'PROTOCOL_VIOLATION',
    `${method} ${redactUrl(url)}: the registry's answer is not valid HTTP (${why || code})`,
    `a header or the status line holds a control character or is malformed: the registry (or a proxy in front of it) is broken; tell its operator — retrying will not help`,
  );
}

function systemCodeOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function classifySystemCode(code: string | undefined, cause: unknown): ConnectionErrorCode {
  switch (code) {
    case 'ECONNREFUSED':
      return 'CONNECTION_REFUSED';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'CONNECTION_RESET';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'CONNECTION_TIMEOUT';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'HOST_NOT_FOUND';
    default:
      if (code && /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code)) return 'TLS_ERROR';
      if (/other side closed|socket hang up|terminated/i.test(String((cause as Error)?.message ?? ''))) {
        return 'CONNECTION_RESET';
      }
      return 'CONNECTION_FAILED';
  }
}

function describeCause(err: unknown, systemCode: string | undefined): string {
  let e: unknown = err;
  let innermost = '';
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const msg = (e as Error).message;
    if (msg && msg !== 'fetch failed') innermost = msg;
    e = (e as { cause?: unknown }).cause;
  }
  const text = redactText(innermost || systemCode || '');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function safeOrigin(url: string | URL): string {
  try {
    return new URL(url.toString()).origin;
  } catch {
    return '(unparseable URL)';
  }
}

/** The image asked for does not fit the operation: no child for the platform, a manifest kind we do not handle. */
export class ImageError extends RegistryClientError {
  readonly code: 'PLATFORM_NOT_FOUND' | 'MANIFEST_UNSUPPORTED' | 'DIGEST_CONFLICT';
  override readonly name = 'ImageError';

  constructor(code: ImageError['code'], message: string, hint: string) {
    super(message, hint, false);
    this.code = code;
  }
}
