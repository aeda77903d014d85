import { MAX_MANIFEST_BYTES, MediaTypes, sha256, validateDocumentShape } from '@scratchpack/oci';
import type { RegistryClient } from './client.ts';
import { ProtocolError } from './errors.ts';
import { redactUrl } from './redact.ts';
import { discard, type Response, readBounded } from './transport.ts';

/**
 * Manifest protocol steps (distribution-spec "Pulling manifests" / "Pushing manifests"). A manifest's bytes are
 * never re-serialised: the bytes put are the bytes whose digest the caller names, and the bytes got are checked
 * against the digest asked for or announced.
 */

/** What a client accepts, both families: OCI index/manifest and Docker list/manifest v2. */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.dockerManifest,
] as const;

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface ManifestHead {
  /** `Docker-Content-Digest`, or the reference itself when it is a digest; undefined if neither. */
  digest: string | undefined;
  mediaType: string;
  size: number;
}

/**
 * `PUT /v2/<name>/manifests/<reference>` with `Content-Type` = `mediaType` → 201. `reference` is a tag or a
 * digest; the registry's `Docker-Content-Digest`, when sent, must equal the digest of `bytes`.
 */
export async function putManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
  scopes: readonly string[],
): Promise<string> {
  const digest = sha256(bytes).toString();
  if (reference.includes(':') && reference !== digest) {
    throw new ProtocolError(
      'DIGEST_MISMATCH',
      `manifest bytes have digest ${digest}, not ${reference}`,
      'push the exact manifest bytes its digest was computed from',
    );
  }
  const url = client.url(repository, `manifests/${reference}`);
  const res = await client.request({
    method: 'PUT',
    url,
    headers: { 'content-type': mediaType },
    body: bytes,
    expect: [200, 201],
    scopes,
  });
  await discard(res);
  checkDigest(res, digest, 'PUT', url);
  return digest;
}

/**
 * `GET /v2/<name>/manifests/<reference>` accepting both families. Reads at most 4 MiB (as distribution caps
 * manifests: a body without end fails at the cap, not when memory runs out), verifies the bytes against the
 * digest (the reference when it is one, else `Docker-Content-Digest` when present) and checks the shape of an
 * index or image manifest before anyone uses it.
 */
export async function getManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  scopes: readonly string[],
): Promise<FetchedManifest> {
  return (await fetchManifest(client, repository, reference, scopes, [200]))!;
}

/** {@link getManifest}, but undefined on 404 (one request where HEAD then GET would be two). */
export async function findManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  scopes: readonly string[],
): Promise<FetchedManifest | undefined> {
  return fetchManifest(client, repository, reference, scopes, [200, 404]);
}

async function fetchManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  scopes: readonly string[],
  expect: readonly number[],
): Promise<FetchedManifest | undefined> {
  const url = client.url(repository, `manifests/${reference}`);
  const res = await client.request({
    method: 'GET',
    url,
    headers: { accept: MANIFEST_ACCEPT.join(', ') },
    expect,
    scopes,
  });
  if (res.status === 404) {
    await discard(res);
    return undefined;
  }
  const bytes = await readBounded(res, MAX_MANIFEST_BYTES, {
    tooLarge: (got) =>
      new ProtocolError(
        'MANIFEST_TOO_LARGE',
        `GET ${redactUrl(url)}: manifest is larger than ${MAX_MANIFEST_BYTES} bytes (4 MiB; ${got} bytes ${res.headers.get('content-length') ? 'announced' : 'and counting'})`,
        `${url.host} sent something that is not a manifest (registries refuse manifests over 4 MiB); check the reference and the registry`,
      ),
  });
  const digest = sha256(bytes).toString();
  if (reference.includes(':') && reference !== digest) {
    throw new ProtocolError(
      'DIGEST_MISMATCH',
      `GET ${url}: content has digest ${digest}`,
      'the registry returned other bytes than asked for; retry, and report it if it persists',
    );
  }
  checkDigest(res, digest, 'GET', url);
  const { mediaType, doc } = mediaTypeOf(bytes, res, url);
  validateDocumentShape(doc, mediaType, `manifest ${reference} from GET ${redactUrl(url)}`);
  return { bytes, digest, mediaType };
}

/** `HEAD /v2/<name>/manifests/<reference>`: digest, media type and size, or undefined on 404. */
export async function headManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  scopes: readonly string[],
): Promise<ManifestHead | undefined> {
  const url = client.url(repository, `manifests/${reference}`);
  const res = await client.request({
    method: 'HEAD',
    url,
    headers: { accept: MANIFEST_ACCEPT.join(', ') },
    expect: [200, 404],
    scopes,
  });
  await discard(res);
  if (res.status === 404) return undefined;
  const digest =
    res.headers.get('docker-content-digest') ?? (reference.includes(':') ? reference : undefined);
  return {
    digest,
    mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim(),
    size: Number(res.headers.get('content-length') ?? -1),
  };
}

function checkDigest(res: Response, digest: string, method: string, url: URL): void {
  const announced = res.headers.get('docker-content-digest');
  if (announced && announced !== digest) {
    throw new ProtocolError(
      'DIGEST_MISMATCH',
      `${method} ${url.origin}${url.pathname}: registry says ${announced}, the bytes are ${digest}`,
      'the registry stored or sent other bytes; retry, and report it if it persists',
    );
  }
}

/** The body's own `mediaType` wins; the `Content-Type` header is the fallback (older Docker manifests). */
function mediaTypeOf(bytes: Buffer, res: Response, url: URL): { mediaType: string; doc: unknown } {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ProtocolError('PROTOCOL_VIOLATION', `GET ${url}: manifest is not JSON`, 'check the reference');
  }
  const fromBody =
    typeof doc === 'object' && doc !== null ? (doc as { mediaType?: unknown }).mediaType : undefined;
  if (typeof fromBody === 'string' && fromBody) return { mediaType: fromBody, doc };
  return { mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim(), doc };
}
