import { Readable } from 'node:stream';
import { type ArtifactBlob, checkedFileChunks, chunksOf } from '@scratchpack/oci';
import { cancelUpload, completeUpload, startUpload, type UploadSession, uploadChunk } from './blobs.ts';
import type { RegistryClient } from './client.ts';
import { ProtocolError, RegistryClientError } from './errors.ts';
import { withRetry } from './retry.ts';
import type { StreamBody } from './transport.ts';

/**
 * A whole blob upload, composed from the steps in blobs.ts. A temporary failure anywhere restarts the session from
 * POST with a fresh stream: a request body that was partly sent cannot be replayed, and the session's state is then
 * unknown.
 */

/** A blob to push: its digest and size are known before upload; `open()` gives a fresh byte stream each call. */
export interface PushBlob {
  digest: string;
  size: number;
  open(): Readable | AsyncIterable<Uint8Array>;
  /**
   * The whole blob, when it is in memory already (configs, SBOMs, signatures: checked against their digests when
   * they were read): sent as it is in one PUT, without a stream.
   */
  bytes?: Uint8Array;
  /**
   * A file holding the blob (a layout's stored blob), not checked yet: a whole-blob upload reads it into a few
   * reused buffers and checks size and digest as it sends, failing before the last chunk goes out
   * (`checkedFileChunks`) — no fresh buffer per chunk, no second pass over the bytes.
   */
  file?: string;
}

/**
 * A blob of an artifact (SBOM, provenance, signature, their empty config) as a push sends it: held bytes as they
 * are, a file-backed one (a large document this process wrote) from its file, read and checked as it is sent —
 * never read whole into memory first.
 */
export function artifactPushBlob(b: ArtifactBlob): PushBlob {
  const { digest, size } = b.descriptor;
  const file = b.file;
  if (file !== undefined)
    return {
      digest,
      size,
      file,
      open: () => checkedFileChunks(file, digest, size, `blob ${digest} (${file})`),
    };
  const bytes = b.bytes;
  return { digest, size, open: () => Readable.from([bytes]), bytes };
}

export interface UploadOptions {
  /** Bytes per PATCH when a blob is uploaded in chunks (default 16 MiB; raised to `OCI-Chunk-Min-Length`). */
  chunkSize?: number;
  /**
   * Blobs up to this size are streamed in one PUT; larger ones go in PATCH chunks of `chunkSize`. Default: every
   * blob in one PUT, unless `chunkSize` is given, which then is the threshold too.
   */
  monolithicThreshold?: number;
  /**
   * Progress: bytes of this blob sent in its one PUT, or acknowledged by the registry when chunked (goes back to 0
   * when a session restarts).
   */
  onProgress?: (bytes: number) => void;
}

export const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024;
/** Every blob in one streamed PUT, as docker and skopeo send a blob in one request. */
export const DEFAULT_MONOLITHIC_THRESHOLD = Number.POSITIVE_INFINITY;
/** Progress events of a streamed PUT come at most once per this many bytes. */
const PROGRESS_STEP = 1024 * 1024;
/** Buffers a blob read from a file cycles through while the socket takes them. */
const FILE_RING = 4;

/** `chunks`, failing with SIZE_MISMATCH as soon as they are more than `blob.size` bytes, or fewer at their end. */
async function* sized(blob: PushBlob, chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const chunk of chunks) {
    sent += chunk.byteLength;
    if (sent > blob.size) throw sizeMismatch(blob, `more than ${blob.size}`);
    yield chunk;
  }
  if (sent !== blob.size) throw sizeMismatch(blob, String(sent));
}

/**
 * Upload `blob` to `repository`: open a session (or use `session` from a refused mount), stream the bytes as one
 * PUT (size ≤ `monolithicThreshold`, by default every blob) or as PATCH chunks with the last chunk in the final PUT
 * (never an empty PUT), and verify the digest. A temporary failure anywhere restarts from POST with a fresh stream, under the client's
 * retry policy. Returns the number of attempts.
 */
export async function uploadBlob(
  client: RegistryClient,
  repository: string,
  blob: PushBlob,
  scopes: readonly string[],
  options: UploadOptions & { session?: UploadSession } = {},
): Promise<{ attempts: number }> {
  let given = options.session;
  let attempts = 0;
  await withRetry(
    async (attempt) => {
      attempts = attempt;
      options.onProgress?.(0);
      const session = given ?? (await startUpload(client, repository, scopes));
      given = undefined;
      try {
        await streamInto(client, session, blob, scopes, options);
      } catch (err) {
        if (err instanceof RegistryClientError && err.temporary) await cancelUpload(client, session, scopes);
        throw err;
      }
    },
    client.policy,
    (info) => client.retried(info),
    client.signal,
  );
  return { attempts };
}

async function streamInto(
  client: RegistryClient,
  start: UploadSession,
  blob: PushBlob,
  scopes: readonly string[],
  options: UploadOptions,
): Promise<void> {
  const threshold = options.monolithicThreshold ?? options.chunkSize ?? DEFAULT_MONOLITHIC_THRESHOLD;
  const chunkSize = Math.max(options.chunkSize ?? DEFAULT_CHUNK_SIZE, start.minChunkLength ?? 1);
  let session = start;
  if (session.offset !== 0) session = { ...session, offset: 0 };
  if (blob.size <= threshold) {
    await streamWhole(client, session, blob, scopes, options);
    return;
  }
  // Hold one chunk back so that the final PUT always carries bytes.
  let pending: Uint8Array | undefined;
  for await (const chunk of chunksOf(blob.open(), chunkSize)) {
    if (pending) {
      session = await uploadChunk(client, session, pending, scopes);
      options.onProgress?.(session.offset);
    }
    pending = chunk;
  }
  const total = session.offset + (pending?.length ?? 0);
  checkSize(blob, total);
  await completeUpload(client, session, blob.digest, pending ?? new Uint8Array(0), scopes);
  options.onProgress?.(total);
}

function checkSize(blob: PushBlob, actual: number): void {
  if (actual !== blob.size) throw sizeMismatch(blob, String(actual));
}

function sizeMismatch(blob: PushBlob, actual: string): ProtocolError {
  return new ProtocolError(
    'SIZE_MISMATCH',
    `blob ${blob.digest}: read ${actual} bytes, its descriptor says ${blob.size}`,
    'the local blob changed or is corrupted: rebuild the image',
  );
}

/**
 * The whole blob in one PUT, streamed with `Content-Length: size`: no copy of the blob in memory, one request.
 * From `file` when there is one (read into reused buffers, checked as it is read: a wrong blob fails before its
 * last chunk is sent), else from `open()`. A stream that turns out longer or shorter than `size` fails with
 * SIZE_MISMATCH, a file that is not the blob with its size or digest mismatch (not retried).
 */
async function streamWhole(
  client: RegistryClient,
  session: UploadSession,
  blob: PushBlob,
  scopes: readonly string[],
  options: UploadOptions,
): Promise<void> {
  if (blob.bytes) {
    checkSize(blob, blob.bytes.byteLength);
    await completeUpload(client, session, blob.digest, blob.bytes, scopes);
    options.onProgress?.(blob.size);
    return;
  }
  // An error of the body itself (a size or digest mismatch) is the one to report, not the broken request it causes.
  let bodyError: unknown;
  const file = blob.file;
  const chunks = () =>
    file
      ? checkedFileChunks(file, blob.digest, blob.size, `blob ${blob.digest} (${file})`, { ring: FILE_RING })
      : sized(blob, blob.open() as AsyncIterable<Uint8Array>);
  const body: StreamBody = {
    length: blob.size,
    ...(file && { ring: FILE_RING }),
    open: () =>
      (async function* () {
        let sent = 0;
        let reported = 0;
        try {
          for await (const chunk of chunks()) {
            sent += chunk.byteLength;
            yield chunk;
            if (sent - reported >= PROGRESS_STEP) {
              reported = sent;
              options.onProgress?.(sent);
            }
          }
        } catch (err) {
          bodyError = err;
          throw err;
        }
      })(),
  };
  try {
    await completeUpload(client, session, blob.digest, body, scopes);
  } catch (err) {
    throw bodyError ?? err;
  }
  options.onProgress?.(blob.size);
}
