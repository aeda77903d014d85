/**
 * The image of one of the workspace's example packages (hello, httpd): read the package's version, build
 * its Dockerfile for `$PLATFORMS` (default all) from per-platform binaries or C sources, tag it `latest` and
 * the version, and publish an OCI layout and an OCI archive. The packages' `images` scripts call this.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatPlatform, parseSourceDateEpoch } from '@scratchpack/oci';
import { type BuildResult, build } from './build.ts';
import { ParentResolver } from './parents.ts';
import { matrixPlatforms } from './platforms.ts';
import { stageProgram } from './program.ts';
import { archivePublisher, layoutPublisher, multi, type Published } from './publish.ts';

export interface PackageImageOptions {
  /** The package directory (holds `package.json` and the `Dockerfile`); relative paths start here. */
  dir: string;
  /** `org.opencontainers.image.title` and `.description`. */
  title: string;
  description: string;
  /** Per-platform build context with the prebuilt program (e.g. `dist/{label}`), or … */
  context?: string;
  /** … C sources to compile for every platform first. */
  cSources?: string[];
  /** Comma-separated platforms, or `all` (default: `$PLATFORMS`, else all). */
  platforms?: string;
  /** Annotations after the title, description and version. */
  annotations?: Record<string, string>;
  imageName?: string;
  /** The OCI layout and the OCI archive to write. */
  layout: string;
  archive: string;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export async function packageImage(
  o: PackageImageOptions,
): Promise<{ build: BuildResult; published: Published[] }> {
  const { version } = JSON.parse(readFileSync(join(o.dir, 'package.json'), 'utf8')) as { version: string };
  const platforms = matrixPlatforms(o.platforms ?? (process.env.PLATFORMS || 'all'), 'PLATFORMS');
  const sourceDateEpoch = parseSourceDateEpoch(process.env.SOURCE_DATE_EPOCH);
  const program = o.cSources?.length
    ? await stageProgram({
        cSources: o.cSources,
        cflags: [],
        binaries: [],
        platforms,
        file: 'Dockerfile',
        cwd: o.dir,
      })
    : undefined;
  const parents = new ParentResolver();
  const tags = ['latest', version];
  const seen = new Set<string>();
  const warn = (m: string) => {
    if (!seen.has(m)) o.onWarning?.(m);
    seen.add(m);
  };
  try {
    const result = await build({
      context: program?.context ?? o.context ?? '.',
      file: program?.file ?? 'Dockerfile',
      platforms: program?.platforms ?? platforms,
      tags,
      annotations: {
        ...program?.annotations,
        'org.opencontainers.image.title': o.title,
        'org.opencontainers.image.description': o.description,
        'org.opencontainers.image.version': version,
        ...o.annotations,
      },
      sourceDateEpoch,
      parents,
      cwd: o.dir,
      attest: { sbom: true, provenance: true, onWarning: warn },
      onWarning: (w) => warn(`[${w.code}] ${w.file}:${w.line}:${w.column}: ${w.message}`),
      ...(o.imageName ? { imageName: o.imageName } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    const publisher = multi(layoutPublisher(o.layout), archivePublisher(o.archive, { layout: o.layout }));
    const published = await publisher.publish(result.index, {
      tags,
      referrers: result.referrers,
      sourceDateEpoch,
      ...(o.imageName ? { imageName: o.imageName } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return { build: result, published };
  } finally {
    await parents.close();
    await program?.cleanup();
  }
}

/** What a script prints after `packageImage`: one line per platform, the index, and where it went. */
export function summary({ build, published }: { build: BuildResult; published: Published[] }): string {
  const width = Math.max(0, ...build.images.map((i) => formatPlatform(i.platform).length));
  return [
    ...build.images.map((i) => `${formatPlatform(i.platform).padEnd(width)}  ${i.digest}  ${i.size} B`),
    `index ${build.indexDigest}`,
    `referrers: ${build.referrers.length} (SBOMs and provenance beside the images)`,
    ...published.map((p) => `wrote ${p.kind} ${p.dest}`),
  ].join('\n');
}
