/**
 * @scratchpack/registry — a registry client written from the OCI distribution spec: references, credentials,
 * auth challenges, a retrying transport, one function per protocol step, and push/pull built from them.
 * The library never prints: it returns summaries, emits progress events and throws typed errors with hints.
 */

export {
  Authenticator,
  type Challenge,
  DEFAULT_TOKEN_LIFETIME_S,
  parseWwwAuthenticate,
  pullScopes,
  pushScopes,
  repositoryScope,
} from './auth.ts';
export {
  blobExists,
  blobSizeMismatch,
  cancelUpload,
  completeUpload,
  contentRange,
  fetchBlob,
  type MountResult,
  mountBlob,
  parseUploadRange,
  resolveLocation,
  startUpload,
  type UploadSession,
  uploadChunk,
  uploadStatus,
  withDigestParam,
} from './blobs.ts';
export {
  type ClientOptions,
  type ClientRequest,
  clientFor,
  RegistryClient,
  type RetryEvent,
} from './client.ts';
export {
  type Credential,
  type CredentialOptions,
  type CredentialsHost,
  dockerConfigKey,
  nodeCredentialsHost,
  resolveCredentials,
} from './credentials.ts';
export {
  ConnectionError,
  type ConnectionErrorCode,
  CredentialsError,
  ImageError,
  InvalidReferenceError,
  ProtocolError,
  REGISTRY_ERROR_CODES,
  RegistryClientError,
  RegistryError,
  type RegistryErrorCode,
  type RegistryErrorEntry,
} from './errors.ts';
export {
  type FetchedManifest,
  getManifest,
  headManifest,
  MANIFEST_ACCEPT,
  type ManifestHead,
  putManifest,
} from './manifests.ts';
export { type PullEvent, type PullOptions, type PullResult, pull } from './pull.ts';
export {
  type BlobOutcome,
  type BlobResult,
  type PushEvent,
  type PushOptions,
  type PushResult,
  push,
} from './push.ts';
export { redactText, redactUrl } from './redact.ts';
export {
  apiHost,
  DOCKER_HUB,
  formatReference,
  isLoopbackHost,
  isValidDigest,
  isValidTag,
  manifestReference,
  parseReference,
  type Reference,
  withDigest,
  withTag,
} from './reference.ts';
export {
  fetchArtifact,
  listReferrers,
  type PushReferrersOptions,
  pushArtifact,
  pushReferrers,
  type ReferrersPushResult,
  updateFallbackTag,
} from './referrers.ts';
export {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryable,
  NO_RETRY,
  parseRetryAfter,
  type RetryInfo,
  type RetryPolicy,
  retryDecision,
  retryPolicy,
  withRetry,
} from './retry.ts';
export {
  readBounded,
  registryBaseUrl,
  type StreamBody,
  Transport,
  type TransportOptions,
  USER_AGENT,
} from './transport.ts';
export {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MONOLITHIC_THRESHOLD,
  type PushBlob,
  type UploadOptions,
  uploadBlob,
} from './upload.ts';
export {
  DEFAULT_TIMEOUT_MS,
  STALL_MIN_BYTES,
  TimeoutError,
  type WaitEvent,
  type WatchOptions,
  watchBody,
} from './watchdog.ts';
