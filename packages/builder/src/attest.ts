/**
 * The SBOMs and provenance of one platform image, from what the build really used: the Dockerfile (path
 * as given, sha256), the request (platforms, build args, labels, annotations, tags, format), the parent
 * image by digest, and the programs' build info found in the platform's context (written by a compile
 * step, e.g. packages/hello/scripts/compile.ts, or by `--c-source`). Build-info files are only read:
 * they are not part of the image unless the Dockerfile copies them.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, relative } from 'node:path';
import {
  attestations,
  FILE_URI_ROOT,
  type ImageInputs,
  isPackageDbPath,
  osPackages,
  readBuildInfos,
} from '@scratchpack/attest';
import {
  type Artifact,
  formatPlatform,
  type Image,
  imageDescriptor,
  layerFiles,
  type Platform,
  readRootfsFiles,
  rfc3339,
  sha256,
} from '@scratchpack/oci';

// A static import, so the esbuild bundle carries the version too.
import builderPackage from '../package.json' with { type: 'json' };

/** The tool the documents name: this package unless the caller names itself (the CLI does). */
export interface Tool {
  name: string;
  version: string;
}

export const TOOL: Tool = { name: 'scratchpack', version: builderPackage.version };

export interface AttestRequest {
  sbom: boolean;
  provenance: boolean;
  /** Told about build-info files whose program changed since (they are left out). */
  onWarning?: (message: string) => void;
}

export interface AttestContext {
  image: Image;
  platform: Platform;
  context: string;
  file: string;
  dockerfileText: string;
  imageName: string | undefined;
  sourceDateEpoch: number;
  parent: { name: string; digest: string; layers?: string[] } | undefined;
  request: ImageInputs['request'];
  tool: Tool;
  /** Where the build runs: the Dockerfile is named relative to it when inside it. */
  cwd: string;
}

/** A path for the documents: relative to where the build runs when inside it, else the file name. */
function shownPath(file: string, cwd: string): { path: string; root: 'working-directory' | 'own-directory' } {
  const rel = relative(cwd, file);
  if (!rel || rel.startsWith('..') || isAbsolute(rel))
    return { path: file.split('/').pop() ?? file, root: FILE_URI_ROOT.own };
  return { path: rel.split('\\').join('/'), root: FILE_URI_ROOT.cwd };
}

/** SPDX, CycloneDX and provenance referrers for one built image (as `req` asks). */
export async function imageAttestations(c: AttestContext, req: AttestRequest): Promise<Artifact[]> {
  if (!req.sbom && !req.provenance) return [];
  const { infos, stale } = await readBuildInfos(c.context);
  for (const s of stale)
    req.onWarning?.(`${s}: its program changed after it was written; left out of the SBOM (compile again)`);
  // The build's own layers are described file by file; the parent's (a distribution, typically) by the
  // packages its databases list.
  const files: ImageInputs['files'] = [];
  const parentLayers = [];
  for (const layer of await c.image.layers()) {
    if (c.parent?.layers?.includes((await layer.digest()).toString())) {
      parentLayers.push(layer);
      continue;
    }
    // Only the SBOMs list files; a layer the build packed had them hashed then (no second read).
    if (req.sbom) for (const f of await layerFiles(layer)) files.push(f);
  }
  const inputs: ImageInputs = {
    name: c.imageName ?? 'image',
    named: c.imageName !== undefined,
    platform: formatPlatform(c.platform),
    subject: await imageDescriptor(c.image),
    created: rfc3339(c.sourceDateEpoch),
    sourceDateEpoch: c.sourceDateEpoch,
    tool: c.tool,
    dockerfile: {
      ...shownPath(c.file, c.cwd),
      sha256: sha256(c.dockerfileText).hex,
      sha1: createHash('sha1').update(c.dockerfileText).digest('hex'),
    },
    request: c.request,
    parents: c.parent ? [{ name: c.parent.name, digest: c.parent.digest }] : [],
    files,
    imports: [],
    programs: infos.filter((i) => i.platform === formatPlatform(c.platform)),
    osPackages: await osPackages(await readRootfsFiles(parentLayers, isPackageDbPath)),
  };
  return attestations(inputs, { sbom: req.sbom, provenance: req.provenance });
}
