/**
 * The real inputs of one platform image, gathered by the builder: what the SBOMs and the provenance
 * statement describe. Everything here is reproducible (no absolute paths, no wall-clock times).
 */
import { createHash } from 'node:crypto';
import type { Descriptor } from '@scratchpack/oci';
import type { BuildInfo } from './build-info.ts';
import { jsonBytes, jsonSpooled, type SpooledJson } from './json-stream.ts';
import type { OsPackages } from './os-packages.ts';

export interface ImageInputs {
  /** Repository name of the image (e.g. `ghcr.io/me/hello`); `image` when none was given. */
  name: string;
  /**
   * False when the user gave the image no name: `name` is then a placeholder, and the image's package URL has no
   * `repository_url` (the purl spec's own example of an image known by digest only: `pkg:oci/hello-wasm@…?tag=v1`).
   */
  named?: boolean;
  /** `os/arch[/variant]`. */
  platform: string;
  /** The platform image manifest: the subject of every document. */
  subject: Descriptor;
  /** RFC 3339 time from SOURCE_DATE_EPOCH. */
  created: string;
  sourceDateEpoch: number;
  tool: { name: string; version: string };
  /** The Dockerfile as the user named it (relative to where the build ran) and its sha256; none for imports. */
  dockerfile?: {
    path: string;
    sha256: string;
    sha1: string;
    root?: (typeof FILE_URI_ROOT)[keyof typeof FILE_URI_ROOT];
  };
  /** What the user asked for. */
  request: {
    platforms: string[];
    buildArgs: Record<string, string>;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    tags: string[];
    format: string;
    /** `import --change` instructions, in the order given (none for builds). */
    changes?: string[];
    /** Every other option that shaped the image (compression level, history message, …), by option name. */
    options?: Record<string, string | number | boolean>;
  };
  /** Parent images (FROM), by manifest digest. */
  parents: { name: string; digest: string }[];
  /** Imported tarballs (by file name, `-` for standard input), by sha256 of the bytes read. */
  imports: { name: string; sha256: string }[];
  /** Regular files the build's own layers add (not the parents'), with their digests. */
  files: { path: string; sha256: string; sha1: string }[];
  /** Programs compiled for this image, from their build info. */
  programs: BuildInfo[];
  /** Distribution packages of the rootfs (imported or from the parents), from its package databases. */
  osPackages?: OsPackages;
  /**
   * Distribution packages in the image as their maker records them (the Debian packages of `scratchpack base
   * static`): a purl (`pkg:deb/debian/tzdata@…`) and the licences their copyright file names.
   */
  packages?: ListedPackage[];
}

export interface ListedPackage {
  name: string;
  version: string;
  purl: string;
  /** As the distribution names them (Debian's `GPL-2+`, `public-domain`, …), not necessarily SPDX ids. */
  licenses: string[];
}

/**
 * Where `file:` URIs of the provenance are rooted (each dependency's `annotations.root`): `file:///P` is the file
 * P relative to the directory the command ran in (`working-directory`: a Dockerfile inside it), the directory a
 * program was compiled in (`compile-directory`: its sources), or the file's own directory (`own-directory`: an
 * imported tarball, a Dockerfile outside the working directory) — never an absolute host path, so the statement
 * is the same in any folder.
 */
export const FILE_URI_ROOT = {
  cwd: 'working-directory',
  compile: 'compile-directory',
  own: 'own-directory',
} as const;

/** `file:///` and the relative `path`, each segment percent-encoded (RFC 8089). */
export function fileUri(path: string): string {
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  return `file:///${segments.map((s) => encodeURIComponent(s)).join('/')}`;
}

/** A program's package URL: `pkg:generic/NAME@VERSION`, the version being the image's first tag but `latest`. */
export function programPurl(i: ImageInputs, name: string): string {
  const version = i.request.tags.find((t) => t !== 'latest');
  return `pkg:generic/${encodeURIComponent(name)}${version ? `@${encodeURIComponent(version)}` : ''}`;
}

/** Hex of the subject's digest. */
export const subjectHex = (i: ImageInputs) => i.subject.digest.slice('sha256:'.length);

/** `linux-arm64-v8`. */
export const platformLabel = (platform: string) => platform.replaceAll('/', '-');

/**
 * A package URL for an OCI image (purl spec, type `oci`): `pkg:oci/<last name>@sha256%3A…?repository_url=…`; with
 * `repository` false (an image without a name), no `repository_url`: `name` is no place to fetch it from.
 */
export function ociPurl(name: string, digest: string, platform?: string, repository = true): string {
  const last = name.split('/').pop()!.toLowerCase();
  const q = repository ? [`repository_url=${encodeURIComponent(name.toLowerCase())}`] : [];
  if (platform) {
    const [os, arch, variant] = platform.split('/');
    q.push(`arch=${arch}`, `os=${os}`);
    if (variant) q.push(`variant=${variant}`);
  }
  return `pkg:oci/${last}@${encodeURIComponent(digest)}${q.length ? `?${q.join('&')}` : ''}`;
}

/** The image's own package URL (its platform's manifest), with a `repository_url` only when it has a name. */
export const imagePurl = (i: ImageInputs): string =>
  ociPurl(i.name, i.subject.digest, i.platform, i.named !== false);

/** A package URL for an npm package `@scope/name@version` or `name@version`. */
export function npmPurl(spec: string): string {
  const at = spec.lastIndexOf('@');
  const name = spec.slice(0, at);
  return `pkg:npm/${name.replace('@', '%40')}@${spec.slice(at + 1)}`;
}

/** A name-based UUID (RFC 4122 version 5, URL namespace): the same name always gives the same UUID. */
export function uuidV5(name: string): string {
  const ns = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');
  const h = createHash('sha1').update(ns).update(name).digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * Serialise a document: compact JSON and a final newline (stable key order is the builders' job), its `Lazy`
 * arrays written item by item (json-stream.ts).
 */
export const serialize = (doc: unknown, reserve?: number): Buffer => jsonBytes(doc, reserve);

/** Room for a document with an entry per added file: 512 bytes per file (~300 are used) and 64 KiB. */
export const roomFor = (i: ImageInputs): number => 512 * i.files.length + 65536;

/**
 * A document expected to be larger than this (`roomFor`: ~8,000 added files) is written to a temp file as it is
 * made instead of being held until it is stored (as a layer is spooled past 4 MiB): with SBOMs, a build's memory
 * does not grow with its file count. Either way the bytes are the same.
 */
export const SPOOL_DOCUMENT_BYTES = 4 * 1024 * 1024;

/** A document's bytes as an artifact layer takes them: held when small, else in a temp file (see above). */
export const documentBlob = async (doc: unknown, i: ImageInputs): Promise<{ bytes: Buffer } | SpooledJson> =>
  roomFor(i) > SPOOL_DOCUMENT_BYTES ? jsonSpooled(doc) : { bytes: serialize(doc, roomFor(i)) };
