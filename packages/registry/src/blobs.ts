import { pipeline, Readable, Transform } from 'node:stream';
import type { RegistryClient } from './client.ts';
import { ProtocolError, RegistryError } from './errors.ts';
import { discard, type Response, responseError, type StreamBody } from './transport.ts';

/**
 * Blob protocol steps, one function each (distribution-spec "Pushing blobs" / "Pulling blobs"):
 * exists? (HEAD) → mount (POST ?mount&from) or start (POST) → monolithic PUT, or PATCH chunks + final PUT.
 * `upload.ts` composes them into a whole upload.
 */

const MAX_416_RESUMES = 3;

/** An open upload session. `location` is always the newest `Location` the registry returned. */
export interface UploadSession {
  location: URL;
  /** Bytes the registry holds for this session. */
  offset: number;
  /** `OCI-Chunk-Min-Length`: chunks (except the last) must be at least this big. */
  minChunkLength: number | undefined;
}

/** `Content-Range` of a chunk: `start-end`, inclusive, without `bytes=` (the spec's non-standard form). */
export function contentRange(start: number, length: number): string {
  return `${start}-${start + length - 1}`;
}

/**
 * The next offset from an upload `Range` header (`0-1023` or `bytes=0-1023` → 1024).
 * Distribution answers `0-0` both for an empty session and for one byte; we read it as empty (resending a byte is
 * safe, skipping one is not). Undefined when the header is missing or malformed.
 */
export function parseUploadRange(header: string | null): number | undefined {
  const m = header ? /^(?:bytes=)?(\d+)-(\d+)$/.exec(header.trim()) : null;
  if (!m) return undefined;
  const end = Number(m[2]);
  return end === 0 ? 0 : end + 1;
}

/** Resolve a `Location` header against the URL of the request that returned it (it may be relative). */
export function resolveLocation(location: string | null, requestUrl: URL, method: string): URL {
  if (!location) {
    throw new ProtocolError(
      'PROTOCOL_VIOLATION',
      `${method} ${requestUrl.origin}${requestUrl.pathname}: upload response without a Location header`,
      'the registry does not follow the distribution spec; report it to the registry operator',
    );
  }
  return new URL(location, requestUrl);
}

/** The session URL with `digest=` added (with `&` when it already has a query, as `_state` tokens do). */
export function withDigestParam(location: URL, digest: string): URL {
  const url = new URL(location);
  url.searchParams.append('digest', digest);
  return url;
}

/** `HEAD /v2/<name>/blobs/<digest>`: true on 200 (skip the upload), false on 404. */
export async function blobExists(
  client: RegistryClient,
  repository: string,
  digest: string,
  scopes: readonly string[],
): Promise<boolean> {
  const res = await client.request({
    method: 'HEAD',
    url: client.url(repository, `blobs/${digest}`),
    expect: [200, 404],
    scopes,
  });
  await discard(res);
  return res.status === 200;
}

export type MountResult = { mounted: true } | { mounted: false; session?: UploadSession };

/**
 * `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>`: 201 → mounted; 202 → not mounted, but here is an
 * upload session to use; 400/401/403/404 → not mounted, start a normal upload (registries that refuse mounts
 * answer these).
 */
export async function mountBlob(
  client: RegistryClient,
  repository: string,
  digest: string,
  from: string,
  scopes: readonly string[],
): Promise<MountResult> {
  const url = client.url(repository, 'blobs/uploads/');
  url.searchParams.set('mount', digest);
  url.searchParams.set('from', from);
  let res: Response;
  try {
    res = await client.request({ method: 'POST', url, expect: [201, 202], scopes, retry: false });
  } catch (err) {
    if (err instanceof RegistryError && [400, 401, 403, 404].includes(err.status)) return { mounted: false };
    throw err;
  }
  await discard(res);
  if (res.status === 201) return { mounted: true };
  return { mounted: false, session: sessionFrom(res, url, 'POST') };
}

/** `POST /v2/<name>/blobs/uploads/` → 202 + `Location`: a new upload session. */
export async function startUpload(
  client: RegistryClient,
  repository: string,
  scopes: readonly string[],
): Promise<UploadSession> {
  const url = client.url(repository, 'blobs/uploads/');
  const res = await client.request({ method: 'POST', url, expect: [202], scopes, retry: false });
  await discard(res);
  return sessionFrom(res, url, 'POST');
}

function sessionFrom(res: Response, requestUrl: URL, method: string): UploadSession {
  const min = Number(res.headers.get('oci-chunk-min-length'));
  return {
    location: resolveLocation(res.headers.get('location'), requestUrl, method),
    offset: parseUploadRange(res.headers.get('range')) ?? 0,
    minChunkLength: Number.isSafeInteger(min) && min > 0 ? min : undefined,
  };
}

/**
 * `PUT <location>?digest=<digest>` with `bytes` (the whole blob, or the last chunk when `session.offset > 0`)
 * → 201. `bytes` may be a {@link StreamBody}: the whole blob streamed in this one request, unbuffered.
 * Checks `Docker-Content-Digest` when the registry sends it.
 */
export async function completeUpload(
  client: RegistryClient,
  session: UploadSession,
  digest: string,
  bytes: Uint8Array | StreamBody,
  scopes: readonly string[],
): Promise<void> {
  const url = withDigestParam(session.location, digest);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (session.offset > 0 && bytes.length > 0)
    headers['content-range'] = contentRange(session.offset, bytes.length);
  const res = await client.request({
    method: 'PUT',
    url,
    headers,
    body: bytes,
    expect: [201],
    scopes,
    retry: false,
  });
  await discard(res);
  checkDigestHeader(res, digest, 'PUT', url);
}

/**
 * `PATCH <location>` with one chunk (`Content-Range: start-end`, `Content-Length`) → 202; follows the new
 * `Location`. On 416 the registry's `Range` (or `GET <location>`) says what it has: resend the missing tail of
 * this chunk; if it lost bytes from earlier chunks the session must be restarted.
 */
export async function uploadChunk(
  client: RegistryClient,
  session: UploadSession,
  chunk: Uint8Array,
  scopes: readonly string[],
): Promise<UploadSession> {
  let current = session;
  const end = session.offset + chunk.length;
  for (let resumes = 0; current.offset < end; resumes++) {
    const part = chunk.subarray(current.offset - session.offset);
    const url = current.location;
    const res = await client.request({
      method: 'PATCH',
      url,
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': contentRange(current.offset, part.length),
      },
      body: part,
      expect: [202, 204, 416],
      scopes,
      retry: false,
    });
    await discard(res);
    const location = res.headers.get('location')
      ? resolveLocation(res.headers.get('location'), url, 'PATCH')
      : url;
    if (res.status !== 416) {
      current = { ...current, location, offset: current.offset + part.length };
      continue;
    }
    if (resumes >= MAX_416_RESUMES) throw lostSession(url, 'repeated 416 Range Not Satisfiable');
    const offset =
      parseUploadRange(res.headers.get('range')) ??
      (await uploadStatus(client, { ...current, location }, scopes));
    if (offset < session.offset || offset > end) throw lostSession(url, `registry holds ${offset} bytes`);
    current = { ...current, location, offset };
  }
  return current;
}

/** `GET <location>` → 204 with `Range`: how many bytes the registry holds for this session. */
export async function uploadStatus(
  client: RegistryClient,
  session: UploadSession,
  scopes: readonly string[],
): Promise<number> {
  const res = await client.request({
    method: 'GET',
    url: session.location,
    expect: [204],
    scopes,
    retry: false,
  });
  await discard(res);
  const offset = parseUploadRange(res.headers.get('range'));
  if (offset === undefined) throw lostSession(session.location, 'no Range in upload status');
  return offset;
}

/** `DELETE <location>`: abandon a session (best effort; errors are ignored). */
export async function cancelUpload(
  client: RegistryClient,
  session: UploadSession,
  scopes: readonly string[],
): Promise<void> {
  try {
    const res = await client.request({
      method: 'DELETE',
      url: session.location,
      expect: [202, 204, 404],
      scopes,
      retry: false,
    });
    await discard(res);
  } catch {
    // the registry garbage-collects abandoned sessions
  }
}

/**
 * `GET /v2/<name>/blobs/<digest>`, following redirects without credentials (to a CDN or object store).
 * Returns the body stream; the caller verifies the digest while writing it. With `size` (the descriptor's), a
 * `Content-Length` that differs fails at once and the stream fails as soon as a byte beyond `size` arrives
 * (the connection is closed): a registry cannot make a pull write on and on. `retry: false` when the caller
 * retries the whole download itself (a stream that breaks half-way must be fetched again anyway).
 */
export async function fetchBlob(
  client: RegistryClient,
  repository: string,
  digest: string,
  scopes: readonly string[],
  options: { retry?: boolean; size?: number } = {},
): Promise<Readable> {
  const url = client.url(repository, `blobs/${digest}`);
  let res = await client.request({
    method: 'GET',
    url,
    expect: [200, 301, 302, 303, 307, 308],
    scopes,
    retry: options.retry ?? true,
  });
  let current = url;
  for (let hops = 0; res.status !== 200; hops++) {
    await discard(res);
    if (hops >= 5)
      throw new ProtocolError('PROTOCOL_VIOLATION', `GET ${url}: too many redirects`, 'check the registry');
    current = resolveLocation(res.headers.get('location'), current, 'GET');
    res = await client.transport.send({ method: 'GET', url: current });
    if (![200, 301, 302, 303, 307, 308].includes(res.status)) throw await responseError('GET', current, res);
  }
  if (!res.body) throw new ProtocolError('PROTOCOL_VIOLATION', `GET ${url}: empty body`, 'retry the pull');
  const size = options.size;
  const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const announced = encoded ? Number.NaN : Number(res.headers.get('content-length') ?? Number.NaN);
  if (size !== undefined && Number.isFinite(announced) && announced !== size) {
    await discard(res);
    throw blobSizeMismatch(current, digest, size, `the registry announces ${announced} bytes`);
  }
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  if (size === undefined) return body;
  let seen = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > size)
        done(
          blobSizeMismatch(current, digest, size, `the body goes on past them (stopped at ${seen} bytes)`),
        );
      else done(null, chunk);
    },
  });
  // pipeline: when the limit fails or the consumer destroys it, the body (and its connection) is destroyed too.
  return pipeline(body, limit, () => {});
}

/** A blob body of another length than its descriptor says, naming the registry URL and the blob. */
export function blobSizeMismatch(url: URL, digest: string, size: number, what: string): ProtocolError {
  return new ProtocolError(
    'SIZE_MISMATCH',
    `GET ${url.origin}${url.pathname}: blob ${digest} should be ${size} bytes, but ${what}`,
    `the registry at ${url.host} serves a corrupted or different blob; nothing was kept — report it to the registry operator`,
  );
}

function checkDigestHeader(res: Response, digest: string, method: string, url: URL): void {
  const got = res.headers.get('docker-content-digest');
  if (got && got !== digest) {
    throw new ProtocolError(
      'DIGEST_MISMATCH',
      `${method} ${url.origin}${url.pathname}: registry stored ${got}, expected ${digest}`,
      'the bytes changed in transit or the registry re-encoded them; retry, and report it if it persists',
    );
  }
}

function lostSession(url: URL, why: string): ProtocolError {
  return new ProtocolError(
    'PROTOCOL_VIOLATION',
    `PATCH ${url.origin}${url.pathname}: upload out of sync (${why})`,
    'the upload restarts automatically; if this persists, lower the chunk size',
    true,
  );
}
