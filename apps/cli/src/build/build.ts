/**
 * The build pipeline: Dockerfile + per-platform context → one image per platform (concurrently, kept in
 * platform order) → one multi-arch index → OCI layout(s) and archive(s). No daemon.
 */
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { evaluateDockerfile, parseDockerfile, type Warning } from '@scratchpack/dockerfile';
import {
  type Annotations,
  type Artifact,
  type Family,
  formatPlatform,
  type Image,
  type ImageIndex,
  imageIndex,
  type Platform,
  parsePlatform,
  rfc3339,
  trackTemp,
  withAnnotations,
  withConfig,
  withMediaTypeFamily,
  writeArchive,
  writeLayout,
  writeReferrers,
} from '@scratchpack/oci';
import { UsageError } from '../errors.ts';
import { type AttestRequest, imageAttestations } from './attest.ts';
import { expandTemplate, type OutputSpec } from './outputs.ts';
import type { ParentResolver } from './parents.ts';

export interface BuildOptions {
  /** Build context directory; may hold placeholders such as `{label}` for a per-platform context. */
  context: string;
  /** The Dockerfile; default `<context>/Dockerfile` (expanded per platform). */
  file?: string;
  platforms: Platform[];
  tags: string[];
  outputs: OutputSpec[];
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  /** Annotations for the index and every manifest. */
  annotations?: Annotations;
  family?: Family;
  sourceDateEpoch: number;
  /** Repository name for `io.containerd.image.name` / docker load, e.g. `ghcr.io/me/hello`. */
  imageName?: string;
  concurrency?: number;
  onImage?: (r: BuiltImage) => void;
  /** Told about every warning of the Dockerfile's evaluation (once per platform). */
  onWarning?: (w: Warning) => void;
  /** Resolves `FROM <ref>` other than scratch (see parents.ts); without it only FROM scratch builds. */
  parents?: ParentResolver;
  /** Layers being packed: uncompressed bytes so far and the expected total, per platform (absolute). */
  onPackProgress?: (platform: Platform, bytes: number, total: number) => void;
  /** SBOMs and provenance written as referrers beside each image (default: neither). */
  attest?: AttestRequest;
  /** Cancels the build: layout and archive writes stop (temps removed), and it rejects with `AbortedError`. */
  signal?: AbortSignal;
}

export interface BuiltImage {
  platform: Platform;
  digest: string;
  /** Compressed bytes: manifest + config + layers. */
  size: number;
  layers: number;
}

export interface BuildResult {
  index: ImageIndex;
  indexDigest: string;
  images: BuiltImage[];
  outputs: OutputSpec[];
  /** Referrers (SBOMs, provenance) written beside the images. */
  referrers: Artifact[];
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

async function sizeOf(img: Image): Promise<number> {
  const m = await img.manifest();
  return (await img.size()) + m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
}

async function readDockerfile(file: string, context: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new UsageError(
        `no Dockerfile at ${file}`,
        `pass --file PATH, or put a Dockerfile in the build context ${context}`,
      );
    }
    throw err;
  }
}

export async function build(o: BuildOptions): Promise<BuildResult> {
  const family = o.family ?? 'oci';
  const created = rfc3339(o.sourceDateEpoch);
  const annotations: Annotations = { 'org.opencontainers.image.created': created, ...(o.annotations ?? {}) };
  const images = await mapLimit(o.platforms, o.concurrency ?? availableParallelism(), async (platform) => {
    const context = resolve(expandTemplate(o.context, platform));
    const file = resolve(o.file ? expandTemplate(o.file, platform) : join(context, 'Dockerfile'));
    const text = await readDockerfile(file, context);
    const dockerfile = parseDockerfile(text, { file });
    const packed = { bytes: 0, total: 0 };
    const report = o.onPackProgress;
    const evaluated = await evaluateDockerfile(dockerfile, {
      context,
      platform,
      buildArgs: o.buildArgs ?? {},
      sourceDateEpoch: o.sourceDateEpoch,
      ...(o.parents ? { resolveBase: o.parents.resolveBase } : {}),
      ...(report
        ? {
            onPackProgress: (bytes: number, total: number) => {
              packed.bytes += bytes;
              packed.total += total;
              report(platform, packed.bytes, packed.total);
            },
          }
        : {}),
    });
    for (const w of evaluated.warnings) o.onWarning?.(w);
    let image = evaluated.image;
    const parent = o.parents?.used.get(formatPlatform(platform));
    if (o.labels && Object.keys(o.labels).length > 0) {
      const current = (await image.configFile()).config?.Labels ?? {};
      image = await withConfig(image, { Labels: { ...current, ...o.labels } });
    }
    if (family !== 'oci') image = await withMediaTypeFamily(image, family);
    image = await withAnnotations(image, {
      ...annotations,
      ...(parent
        ? {
            'org.opencontainers.image.base.name': parent.name,
            'org.opencontainers.image.base.digest': parent.digest,
          }
        : {}),
    });
    const built: BuiltImage = {
      platform,
      digest: (await image.digest()).toString(),
      size: await sizeOf(image),
      layers: (await image.layers()).length,
    };
    const referrers = o.attest
      ? await imageAttestations(
          {
            image,
            platform,
            context,
            file,
            dockerfileText: text,
            imageName: o.imageName,
            sourceDateEpoch: o.sourceDateEpoch,
            parent,
            request: {
              platforms: o.platforms.map(formatPlatform),
              buildArgs: o.buildArgs ?? {},
              labels: o.labels ?? {},
              annotations: o.annotations ?? {},
              tags: o.tags,
              format: family,
            },
          },
          o.attest,
        )
      : [];
    o.onImage?.(built);
    return { image, built, referrers };
  });
  const index = imageIndex(
    images.map(({ image }) => ({ image })),
    { family, annotations },
  );
  const referrers = images.flatMap((i) => i.referrers);
  await writeOutputs(index, o, referrers);
  return {
    index,
    indexDigest: (await index.digest()).toString(),
    images: images.map((i) => i.built),
    outputs: o.outputs,
    referrers,
  };
}

/** Layouts first (blobs, then index.json last); archives from a layout (a temporary one if none was asked for). */
async function writeOutputs(index: ImageIndex, o: BuildOptions, referrers: Artifact[]): Promise<void> {
  const layouts = o.outputs.filter((x) => x.kind === 'layout');
  const archives = o.outputs.filter((x) => x.kind === 'archive');
  const layoutOpts = { tags: o.tags, ...(o.imageName ? { imageName: o.imageName } : {}), signal: o.signal };
  for (const l of layouts) {
    await writeLayout(resolve(l.dest), index, layoutOpts);
    if (referrers.length) await writeReferrers(resolve(l.dest), referrers, { replace: true });
  }
  if (archives.length === 0) return;
  let layoutDir = layouts[0] ? resolve(layouts[0].dest) : undefined;
  let temp: string | undefined;
  if (!layoutDir) {
    temp = trackTemp(mkdtempSync(join(tmpdir(), 'scratchpack-layout-')));
    layoutDir = temp;
    await writeLayout(layoutDir, index, layoutOpts);
    if (referrers.length) await writeReferrers(layoutDir, referrers, { replace: true });
  }
  try {
    for (const a of archives) {
      await writeArchive(layoutDir, resolve(a.dest), {
        sourceDateEpoch: o.sourceDateEpoch,
        ...(o.imageName ? { imageName: o.imageName } : {}),
        signal: o.signal,
      });
    }
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}

export function platformsFrom(values: string[]): Platform[] {
  return values.map((v) => parsePlatform(v));
}
