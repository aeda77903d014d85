/**
 * Structural checks of the JSON documents that come from outside (a layout's `index.json`, manifests read
 * from a layout or a registry), done before any field is used: a hostile or broken document gets one clear
 * error naming where it came from, never a `x.map is not a function` from deep inside.
 * Only the shape is checked here (types of the fields the code relies on); `validate.ts` checks content.
 */
import { InvalidDocumentError, InvalidJsonError } from './errors.ts';
import { isIndex, isManifest } from './media-types.ts';
import type { IndexManifest, Manifest } from './types.ts';

const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** Distribution refuses manifests above 4 MiB; so do we, wherever one is read. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function kind(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'nothing';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object' ? 'an object' : `a ${typeof x}`; // a string, a number, a boolean
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function checkStringMap(x: unknown, at: string, problems: string[]): void {
  if (x === undefined) return;
  if (!isObject(x)) {
    problems.push(`${at}: expected an object of strings, got ${kind(x)}`);
    return;
  }
  for (const [k, v] of Object.entries(x))
    if (typeof v !== 'string') problems.push(`${at}.${k}: expected a string, got ${kind(v)}`);
}

/** Problems of one descriptor (descriptor.md): mediaType, digest, size; optional fields typed. */
export function descriptorProblems(x: unknown, at: string): string[] {
  const problems: string[] = [];
  if (!isObject(x)) return [`${at}: expected a descriptor object, got ${kind(x)}`];
  if (typeof x.mediaType !== 'string' || !x.mediaType)
    problems.push(`${at}.mediaType: expected a media type string, got ${kind(x.mediaType)}`);
  if (typeof x.digest !== 'string' || !DIGEST_RE.test(x.digest))
    problems.push(`${at}.digest: expected "<algorithm>:<hex>", got ${JSON.stringify(x.digest) ?? 'nothing'}`);
  if (typeof x.size !== 'number' || !Number.isSafeInteger(x.size) || x.size < 0)
    problems.push(`${at}.size: expected a non-negative integer, got ${JSON.stringify(x.size) ?? 'nothing'}`);
  checkStringMap(x.annotations, `${at}.annotations`, problems);
  if (x.urls !== undefined && (!Array.isArray(x.urls) || x.urls.some((u) => typeof u !== 'string')))
    problems.push(`${at}.urls: expected an array of strings`);
  if (x.platform !== undefined) {
    const p = x.platform;
    if (!isObject(p) || typeof p.os !== 'string' || typeof p.architecture !== 'string')
      problems.push(`${at}.platform: expected {"os": string, "architecture": string}`);
    else if (p.variant !== undefined && typeof p.variant !== 'string')
      problems.push(`${at}.platform.variant: expected a string, got ${kind(p.variant)}`);
  }
  return problems;
}

function parse(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (cause) {
    throw new InvalidJsonError(what, cause);
  }
}

function commonProblems(doc: Record<string, unknown>, problems: string[]): void {
  if (doc.schemaVersion !== 2)
    problems.push(`schemaVersion: expected 2, got ${JSON.stringify(doc.schemaVersion) ?? 'nothing'}`);
  if (doc.mediaType !== undefined && typeof doc.mediaType !== 'string')
    problems.push(`mediaType: expected a string, got ${kind(doc.mediaType)}`);
  checkStringMap(doc.annotations, 'annotations', problems);
  if (doc.subject !== undefined) problems.push(...descriptorProblems(doc.subject, 'subject'));
}

/** Throw {@link InvalidDocumentError} unless `doc` has the shape of an image index (image-index.md). */
export function validateIndexShape(doc: unknown, what: string): asserts doc is IndexManifest {
  if (!isObject(doc))
    throw new InvalidDocumentError(what, 'an image index', [`expected a JSON object, got ${kind(doc)}`]);
  const problems: string[] = [];
  commonProblems(doc, problems);
  if (!Array.isArray(doc.manifests)) {
    problems.push(`manifests: expected an array of descriptors, got ${kind(doc.manifests)}`);
  } else {
    doc.manifests.forEach((d, i) => {
      problems.push(...descriptorProblems(d, `manifests[${i}]`));
    });
  }
  if (problems.length) throw new InvalidDocumentError(what, 'an image index', problems);
}

/** Throw {@link InvalidDocumentError} unless `doc` has the shape of an image manifest (manifest.md). */
export function validateManifestShape(doc: unknown, what: string): asserts doc is Manifest {
  if (!isObject(doc))
    throw new InvalidDocumentError(what, 'an image manifest', [`expected a JSON object, got ${kind(doc)}`]);
  const problems: string[] = [];
  commonProblems(doc, problems);
  problems.push(...descriptorProblems(doc.config, 'config'));
  if (!Array.isArray(doc.layers)) {
    problems.push(`layers: expected an array of descriptors, got ${kind(doc.layers)}`);
  } else {
    doc.layers.forEach((d, i) => {
      problems.push(...descriptorProblems(d, `layers[${i}]`));
    });
  }
  if (problems.length) throw new InvalidDocumentError(what, 'an image manifest', problems);
}

/** An entry of an index's `manifests` that is not a descriptor: its position, its name annotation, the problems. */
export interface BadIndexEntry {
  at: number;
  name: string | undefined;
  problems: string[];
}

/**
 * Problems of each entry of `index.manifests` that is not a valid descriptor (e.g. a digest
 * `sha256:../../etc/passwd`); such an entry is never used, so one broken entry does not break the others.
 */
export function badIndexEntries(manifests: readonly unknown[]): BadIndexEntry[] {
  const bad: BadIndexEntry[] = [];
  manifests.forEach((d, at) => {
    const problems = descriptorProblems(d, `manifests[${at}]`);
    if (!problems.length) return;
    const name = isObject(d) && isObject(d.annotations) ? d.annotations[REF_NAME_KEY] : undefined;
    bad.push({ at, name: typeof name === 'string' ? name : undefined, problems });
  });
  return bad;
}

const REF_NAME_KEY = 'org.opencontainers.image.ref.name';

/**
 * `parseIndexManifest` that sets aside the entries that are not descriptors instead of failing for all of
 * them (a broken document as a whole still fails).
 */
export function parseIndexSkippingBadEntries(
  bytes: Uint8Array,
  what: string,
): { index: IndexManifest; bad: BadIndexEntry[] } {
  const doc = parse(bytes, what);
  let bad: BadIndexEntry[] = [];
  if (isObject(doc) && Array.isArray(doc.manifests)) {
    bad = badIndexEntries(doc.manifests);
    const skip = new Set(bad.map((b) => b.at));
    doc.manifests = doc.manifests.filter((_, i) => !skip.has(i));
  }
  validateIndexShape(doc, what);
  return { index: doc, bad };
}

/** Parse and check an image index's bytes; `what` names where they came from (a file, a URL). */
export function parseIndexManifest(bytes: Uint8Array, what: string): IndexManifest {
  const doc = parse(bytes, what);
  validateIndexShape(doc, what);
  return doc;
}

/** Parse and check an image manifest's bytes; `what` names where they came from (a file, a URL). */
export function parseImageManifest(bytes: Uint8Array, what: string): Manifest {
  const doc = parse(bytes, what);
  validateManifestShape(doc, what);
  return doc;
}

/** The shape check matching `mediaType` (index or manifest); other media types are left alone. */
export function validateDocumentShape(doc: unknown, mediaType: string, what: string): void {
  if (isIndex(mediaType)) validateIndexShape(doc, what);
  else if (isManifest(mediaType)) validateManifestShape(doc, what);
}
