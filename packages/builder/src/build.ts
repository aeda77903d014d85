/**
 * The build pipeline: Dockerfile + per-platform context → one image per platform (concurrently, kept in
 * platform order) → one multi-arch index, with SBOM and provenance referrers. No daemon, and nothing is
 * written: a publisher (publish.ts) takes the index where it should go.
 */

import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
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
  mapLimit,
  type Platform,
  rfc3339,
  throwIfAborted,
  withAnnotations,
  withConfig,
  withMediaTypeFamily,
} from '@scratchpack/oci';
import { type AttestRequest, imageAttestations, TOOL, type Tool } from './attest.ts';
import { BuildInputError } from './errors.ts';
import { ForeignFiles } from './foreign.ts';
import type { ParentResolver } from './parents.ts';
import { expandTemplate } from './template.ts';

export interface BuildOptions {
  /** Build context directory; may hold placeholders such as `{label}` for a per-platform context. */
  context: string;
  /** The Dockerfile; default `<context>/Dockerfile` (expanded per platform). */
  file?: string;
  platforms: Platform[];
  /** The tags asked for: recorded in the provenance (publishers point them at the index). */
  tags: string[];
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  /** Annotations for the index and every manifest. */
  annotations?: Annotations;
  family?: Family;
  sourceDateEpoch: number;
  /** gzip level of the layers made (default 6). The bytes depend on it, never on the number of cores. */
  compressionLevel?: number;
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
  /** SBOMs and provenance made as referrers of each image (default: neither). */
  attest?: AttestRequest;
  /** The tool the SBOMs and provenance name (default: scratchpack at this package's version). */
  tool?: Tool;
  /** Relative context and Dockerfile paths start here, and documents name the Dockerfile from here. */
  cwd?: string;
  /**
   * Accept programs (ELF files) built for another platform than the image they go into; by default the
   * build is refused with `BUILD_FOREIGN_BINARY` naming them (see foreign.ts).
   */
  allowForeignBinaries?: boolean;
  /** Cancels the build; passed to what takes one. */
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
  /** Referrers (SBOMs, provenance) of the images, for publishers to write beside them. */
  referrers: Artifact[];
}

/** The options that shape the image beyond the request's fields, for the provenance (only those given). */
function shapingOptions(o: BuildOptions): { options?: Record<string, string | number> } {
  const options: Record<string, string | number> = {};
  if (o.compressionLevel !== undefined) options.compressionLevel = o.compressionLevel;
  if (o.imageName !== undefined) options.imageName = o.imageName;
  return Object.keys(options).length ? { options } : {};
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
      throw new BuildInputError(
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
  const cwd = o.cwd ?? process.cwd();
  const limit = o.concurrency ?? availableParallelism();
  const foreign = o.allowForeignBinaries ? undefined : new ForeignFiles();
  // Every platform's Dockerfile is evaluated, then every image packed (its files' headers are checked as they
  // are packed: no read of each file only for that), so that programs for the wrong platform are reported for
  // all platforms at once, before any SBOM is made or anything is written.
  const evaluatedAll = await mapLimit(o.platforms, limit, async (platform) => {
    throwIfAborted(o.signal, 'build');
    const context = resolve(cwd, expandTemplate(o.context, platform));
    const file = resolve(cwd, o.file ? expandTemplate(o.file, platform) : join(context, 'Dockerfile'));
    const text = await readDockerfile(file, context);
    const dockerfile = parseDockerfile(text, { file });
    const packed = { bytes: 0, total: 0 };
    const report = o.onPackProgress;
    const onAddedFile = foreign?.watch(platform);
    const evaluated = await evaluateDockerfile(dockerfile, {
      context,
      platform,
      buildArgs: o.buildArgs ?? {},
      sourceDateEpoch: o.sourceDateEpoch,
      ...(o.compressionLevel !== undefined ? { compressionLevel: o.compressionLevel } : {}),
      signal: o.signal,
      ...(o.parents ? { resolveBase: o.parents.resolveBase } : {}),
      ...(onAddedFile ? { onAddedFile, headBytes: foreign!.headBytes } : {}),
      ...(o.attest?.sbom ? { fileDigests: true } : {}),
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
    return { platform, context, file, text, evaluated };
  });
  const packedAll = await mapLimit(
    evaluatedAll,
    limit,
    async ({ platform, context, file, text, evaluated }) => {
      throwIfAborted(o.signal, 'build');
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
      return { platform, context, file, text, image, built, parent };
    },
  );
  foreign?.check(o.platforms);
  const images = await mapLimit(
    packedAll,
    limit,
    async ({ platform, context, file, text, image, built, parent }) => {
      throwIfAborted(o.signal, 'build');
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
                ...shapingOptions(o),
              },
              tool: o.tool ?? TOOL,
              cwd,
            },
            o.attest,
          )
        : [];
      o.onImage?.(built);
      return { image, built, referrers };
    },
  );
  const index = imageIndex(
    images.map(({ image }) => ({ image })),
    { family, annotations },
  );
  return {
    index,
    indexDigest: (await index.digest()).toString(),
    images: images.map((i) => i.built),
    referrers: images.flatMap((i) => i.referrers),
  };
}
