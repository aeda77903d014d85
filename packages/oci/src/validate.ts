/**
 * Validation (go-containerregistry's pkg/v1/validate): walk an image, index or layout, recompute every
 * digest and size (compressed blobs, and diff_ids by decompressing), and check the consistency rules of
 * OCI-NOTES #1–#8. Collects every problem, then throws one `ValidationError` listing them all.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { BlobStore } from './blob-store.ts';
import { Hasher, sha256 } from './digest.ts';
import { DigestMismatchError, SizeMismatchError, ValidationError } from './errors.ts';
import type { Image } from './image.ts';
import type { ImageIndex } from './image-index.ts';
import type { Layer } from './layer.ts';
import { isImageIndex, loadDescriptor, readLayout } from './layout.ts';
import {
  familyOf,
  isConfig,
  isGzipLayer,
  isIndex,
  isLayer,
  isManifest,
  isUncompressedLayer,
} from './media-types.ts';
import { formatPlatformAsGiven, normalizePlatform } from './platform.ts';
import { loadArtifact } from './referrers.ts';
import type { ConfigFile, Descriptor, Manifest } from './types.ts';

export interface ValidationReport {
  /** What was checked, e.g. `image sha256:…`. */
  subject: string;
  /** How many blobs and manifests had their digest and size recomputed. */
  checked: number;
  /** Problems found; empty when valid (unless `throwOnProblems: false`, the validators throw instead). */
  problems: string[];
}

export interface ValidateOptions {
  /** Default true: throw `ValidationError` listing every problem. False: return them in the report. */
  throwOnProblems?: boolean;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function finish(report: ValidationReport, opts: ValidateOptions): ValidationReport {
  if (report.problems.length && opts.throwOnProblems !== false)
    throw new ValidationError(report.subject, report.problems);
  return report;
}

/** Digest and size of the stored bytes, and (unless decompression fails) of the uncompressed tar. */
async function hashLayer(layer: Layer) {
  const comp = new Hasher();
  const diff = new Hasher();
  const gunzip = isUncompressedLayer(layer.mediaType()) ? undefined : createGunzip();
  let gunzipError: Error | undefined;
  const draining = gunzip
    ? (async () => {
        try {
          for await (const c of gunzip) diff.update(c as Buffer);
        } catch (e) {
          gunzipError = e as Error;
        }
      })()
    : Promise.resolve();
  for await (const c of layer.compressed()) {
    comp.update(c as Buffer);
    if (!gunzip) diff.update(c as Buffer);
    else if (!gunzipError && !gunzip.write(c))
      await Promise.race([new Promise((r) => gunzip.once('drain', r)), draining]);
  }
  gunzip?.end();
  await draining;
  return {
    digest: comp.digest(),
    size: comp.size,
    diffId: gunzipError ? undefined : diff.digest(),
    gunzipError,
  };
}

async function checkImage(img: Image, at: string, problems: string[]): Promise<number> {
  let checked = 0;
  const p = (msg: string) => problems.push(`${at}: ${msg}`);
  const raw = await img.rawManifest();
  checked++;
  if (!sha256(raw).equals(await img.digest()))
    p(`manifest digest ${await img.digest()} does not match its bytes (${sha256(raw)})`);
  if (raw.byteLength !== (await img.size()))
    p(`manifest size ${await img.size()} != ${raw.byteLength} bytes`);
  const m = JSON.parse(raw.toString('utf8')) as Manifest;
  const family = familyOf(m.mediaType ?? '');
  if (m.schemaVersion !== 2) p(`schemaVersion is ${m.schemaVersion}, expected 2`);
  if (!m.mediaType) p('manifest has no top-level mediaType');
  else if (!isManifest(m.mediaType)) p(`manifest mediaType ${m.mediaType} is not an image manifest type`);
  if (m.mediaType !== img.mediaType())
    p(`mediaType() ${img.mediaType()} != manifest mediaType ${m.mediaType}`);
  const rawConfig = await img.rawConfig();
  checked++;
  if (!isConfig(m.config.mediaType)) p(`config mediaType ${m.config.mediaType} is not an image config type`);
  if (familyOf(m.config.mediaType) !== family)
    p(`config mediaType ${m.config.mediaType} mixes families with ${m.mediaType}`);
  if (!sha256(rawConfig).equals(m.config.digest))
    p(`config digest ${m.config.digest} does not match its bytes (${sha256(rawConfig)})`);
  if (rawConfig.byteLength !== m.config.size)
    p(`config size ${m.config.size} != ${rawConfig.byteLength} bytes`);
  const cf = JSON.parse(rawConfig.toString('utf8')) as ConfigFile;
  if (!cf.os || !cf.architecture) p('config has no os/architecture (set a platform)');
  else {
    try {
      const n = normalizePlatform({
        os: cf.os,
        architecture: cf.architecture,
        ...(cf.variant ? { variant: cf.variant } : {}),
      });
      if (n.architecture !== cf.architecture || (n.variant ?? '') !== (cf.variant ?? '')) {
        p(`config platform ${formatPlatformAsGiven(cf)} is not in Go's normal form`);
      }
    } catch (e) {
      p((e as Error).message);
    }
  }
  if (cf.created !== undefined && !RFC3339.test(cf.created))
    p(`config created ${JSON.stringify(cf.created)} is not RFC 3339`);
  const diffIds = cf.rootfs?.diff_ids ?? [];
  if (cf.rootfs?.type !== 'layers') p('config rootfs.type is not "layers"');
  const layers = await img.layers();
  if (layers.length !== m.layers.length)
    p(`layers() returns ${layers.length} layers but the manifest lists ${m.layers.length}`);
  if (diffIds.length !== m.layers.length)
    p(`config has ${diffIds.length} diff_ids but the manifest lists ${m.layers.length} layers`);
  if (cf.history) {
    const nonEmpty = cf.history.filter((h) => !h.empty_layer).length;
    if (nonEmpty !== diffIds.length)
      p(`history has ${nonEmpty} non-empty entries but there are ${diffIds.length} diff_ids`);
    cf.history.forEach((h, i) => {
      if (h.created !== undefined && !RFC3339.test(h.created))
        p(`history[${i}].created ${JSON.stringify(h.created)} is not RFC 3339`);
    });
  }
  for (const [i, d] of m.layers.entries()) {
    const layer = layers[i];
    if (!isLayer(d.mediaType)) p(`layer ${i} mediaType ${d.mediaType} is not a layer type`);
    else if (familyOf(d.mediaType) !== family)
      p(`layer ${i} mediaType ${d.mediaType} mixes families with ${m.mediaType}`);
    if (!layer) continue;
    checked++;
    try {
      if (layer.mediaType() !== d.mediaType)
        p(`layer ${i} mediaType() ${layer.mediaType()} != descriptor ${d.mediaType}`);
      if (!isGzipLayer(d.mediaType) && !isUncompressedLayer(d.mediaType)) {
        p(`layer ${i}: cannot verify diff_id of ${d.mediaType}`);
        continue;
      }
      const h = await hashLayer(layer);
      if (!h.digest.equals(d.digest))
        p(`layer ${i} digest ${d.digest} does not match its bytes (${h.digest})`);
      if (h.size !== d.size) p(`layer ${i} size ${d.size} != ${h.size} bytes`);
      if (h.gunzipError) p(`layer ${i} (${d.digest}) cannot be decompressed: ${h.gunzipError.message}`);
      else if (diffIds[i] !== undefined && !h.diffId!.equals(diffIds[i]!))
        p(`layer ${i} diff_id ${diffIds[i]} does not match its uncompressed bytes (${h.diffId})`);
      if (!(await layer.digest()).equals(d.digest))
        p(`layer ${i} digest() ${await layer.digest()} != descriptor ${d.digest}`);
    } catch (e) {
      // A layer read from a layout checks its own bytes: report a mismatch the way the checks above do.
      if (e instanceof DigestMismatchError)
        p(`layer ${i} digest ${d.digest} does not match its bytes (${e.actual})`);
      else if (e instanceof SizeMismatchError) p(`layer ${i} size ${d.size} != ${e.actual} bytes`);
      else p(`layer ${i} (${d.digest}) cannot be read: ${(e as Error).message}`);
    }
  }
  return checked;
}

async function checkIndex(idx: ImageIndex, at: string, problems: string[]): Promise<number> {
  let checked = 1;
  const p = (msg: string) => problems.push(`${at}: ${msg}`);
  const raw = await idx.rawManifest();
  if (!sha256(raw).equals(await idx.digest())) p('index digest does not match its bytes');
  const im = JSON.parse(raw.toString('utf8')) as {
    schemaVersion: number;
    mediaType?: string;
    manifests: {
      mediaType: string;
      digest: string;
      size: number;
      platform?: { os: string; architecture: string; variant?: string };
    }[];
  };
  if (im.schemaVersion !== 2) p(`schemaVersion is ${im.schemaVersion}, expected 2`);
  if (!im.mediaType) p('index has no top-level mediaType');
  else if (!isIndex(im.mediaType)) p(`index mediaType ${im.mediaType} is not an index type`);
  const family = familyOf(im.mediaType ?? '');
  const seen = new Set<string>();
  const children = await idx.images();
  for (const [i, d] of im.manifests.entries()) {
    const where = `manifests[${i}] ${d.digest}`;
    if (familyOf(d.mediaType) !== family) p(`${where}: ${d.mediaType} child in a ${im.mediaType}`);
    if (!d.platform) p(`${where}: no platform`);
    const child = children.find((c) => c.descriptor.digest === d.digest)?.image;
    if (!child) continue;
    const childRaw = await child.rawManifest();
    if (!sha256(childRaw).equals(d.digest))
      p(`${where}: digest does not match the child's bytes (${sha256(childRaw)})`);
    if (childRaw.byteLength !== d.size) p(`${where}: size ${d.size} != ${childRaw.byteLength} bytes`);
    if (child.mediaType() !== d.mediaType)
      p(`${where}: descriptor mediaType ${d.mediaType} != child ${child.mediaType()}`);
    const cf = await child.configFile();
    if (d.platform) {
      const key = `${d.platform.os}/${d.platform.architecture}/${d.platform.variant ?? ''}`;
      if (seen.has(key)) p(`${where}: platform ${key} appears twice`);
      seen.add(key);
      if (
        d.platform.os !== cf.os ||
        d.platform.architecture !== cf.architecture ||
        (d.platform.variant ?? '') !== (cf.variant ?? '')
      ) {
        p(`${where}: platform ${key.replace(/\/$/, '')} != config ${formatPlatformAsGiven(cf)}`);
      }
    }
    checked += await checkImage(child, `${at} ${where}`, problems);
  }
  return checked;
}

/** Validate one image; throws `ValidationError` listing every problem. */
export async function validateImage(img: Image, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const subject = `image ${await img.digest()}`;
  const problems: string[] = [];
  const checked = await checkImage(img, subject, problems);
  return finish({ subject, checked, problems }, opts);
}

/** Validate an index and every child image; throws `ValidationError` listing every problem. */
export async function validateIndex(idx: ImageIndex, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const subject = `index ${await idx.digest()}`;
  const problems: string[] = [];
  const checked = await checkIndex(idx, subject, problems);
  return finish({ subject, checked, problems }, opts);
}

/** A referrer: manifest and blobs hash to their digests, and its subject is in the layout. */
async function checkArtifact(
  store: BlobStore,
  d: Descriptor,
  at: string,
  problems: string[],
): Promise<number> {
  const a = await loadArtifact(store, d);
  if (a.raw.byteLength !== d.size) problems.push(`${at}: size ${d.size} != ${a.raw.byteLength} bytes`);
  if (a.manifest.artifactType !== d.artifactType)
    problems.push(`${at}: artifactType ${d.artifactType} != manifest's ${a.manifest.artifactType}`);
  if (a.manifest.subject && !(await store.has(a.manifest.subject.digest, a.manifest.subject.size)))
    problems.push(`${at}: subject ${a.manifest.subject.digest} is not in the layout`);
  return 1 + a.blobs.length;
}

/** Validate a layout (all entries of index.json, or only `tag`); throws `ValidationError` listing every problem. */
export async function validateLayout(
  dir: string,
  opts: ValidateOptions & { tag?: string } = {},
): Promise<ValidationReport> {
  const layout = await readLayout(dir);
  const subject = `layout ${dir}${opts.tag ? `:${opts.tag}` : ''}`;
  const problems: string[] = [];
  let checked = 0;
  const marker = await readFile(join(dir, 'oci-layout'), 'utf8').catch(() => '');
  try {
    if (JSON.parse(marker).imageLayoutVersion !== '1.0.0')
      problems.push('oci-layout: imageLayoutVersion is not "1.0.0"');
  } catch {
    problems.push('oci-layout is not valid JSON');
  }
  const index = await layout.index();
  if (index.schemaVersion !== 2)
    problems.push(`index.json: schemaVersion is ${index.schemaVersion}, expected 2`);
  const descriptors = opts.tag ? [await layout.descriptor(opts.tag)] : index.manifests;
  for (const d of descriptors) {
    const at = `index.json ${d.annotations?.['org.opencontainers.image.ref.name'] ?? d.digest}`;
    try {
      if (d.artifactType) {
        checked += await checkArtifact(layout.blobs, d, at, problems);
        continue;
      }
      const obj = await loadDescriptor(layout.blobs, d);
      checked += isImageIndex(obj)
        ? await checkIndex(obj, at, problems)
        : await checkImage(obj, at, problems);
    } catch (e) {
      problems.push(`${at}: ${(e as Error).message}`);
    }
  }
  return finish({ subject, checked, problems }, opts);
}
