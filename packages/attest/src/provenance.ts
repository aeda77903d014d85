/**
 * SLSA provenance v1 as an in-toto Statement v1 (https://slsa.dev/spec/v1.0/provenance): the subject is
 * the platform image manifest; `externalParameters` is everything the user asked for that shapes the image
 * (Dockerfile, platform(s), build args, labels, annotations, tags, format, program flags, import's `--change`
 * instructions and other options); `resolvedDependencies` are the sources, the Dockerfile, the toolchain, musl,
 * the parents and imported tarballs, each with its digest and a URI: `file:///P` with P relative to the root its
 * `annotations.root` names (`FILE_URI_ROOT`), `pkg:` for packages and images. No wall-clock time: the
 * statement is as reproducible as the image.
 */
import {
  FILE_URI_ROOT,
  fileUri,
  type ImageInputs,
  npmPurl,
  ociPurl,
  serialize,
  subjectHex,
} from './inputs.ts';

export const IN_TOTO_STATEMENT = 'https://in-toto.io/Statement/v1';
export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const BUILD_TYPE = 'https://scratchpack.dev/build/v1';
export const BUILDER_ID = 'https://scratchpack.dev/builder/cli';

type Obj = Record<string, unknown>;

/** An in-toto Statement v1 about `subjects`. */
export function statement(
  subjects: { name: string; sha256: string }[],
  predicateType: string,
  predicate: Obj,
): Obj {
  return {
    _type: IN_TOTO_STATEMENT,
    subject: subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })),
    predicateType,
    predicate,
  };
}

export function provenanceStatement(i: ImageInputs): Obj {
  const root = (r: string) => ({ root: r });
  const deps: Obj[] = i.dockerfile
    ? [
        {
          uri: fileUri(i.dockerfile.path),
          name: 'Dockerfile',
          digest: { sha256: i.dockerfile.sha256, sha1: i.dockerfile.sha1 },
          annotations: root(i.dockerfile.root ?? FILE_URI_ROOT.cwd),
        },
      ]
    : [];
  for (const p of i.programs) {
    for (const s of p.sources)
      deps.push({
        uri: fileUri(s.path),
        name: s.path,
        digest: { sha256: s.sha256, sha1: s.sha1 },
        annotations: root(FILE_URI_ROOT.compile),
      });
    deps.push({
      uri: p.compiler.package ? npmPurl(p.compiler.package) : `pkg:generic/zig@${p.compiler.version}`,
      name: 'zig',
      ...(p.compiler.sha256 ? { digest: { sha256: p.compiler.sha256 } } : {}),
      annotations: { version: p.compiler.version, source: p.compiler.source },
    });
    if (p.libc) {
      deps.push({
        uri: `pkg:generic/musl@${p.libc.version}`,
        name: 'musl',
        annotations: { version: p.libc.version, bundledWith: `zig ${p.compiler.version}` },
      });
    }
  }
  for (const p of i.parents)
    deps.push({ uri: ociPurl(p.name, p.digest), name: p.name, digest: { sha256: p.digest.slice(7) } });
  // Standard input has no URI: the bytes read are named and digested.
  for (const t of i.imports)
    deps.push(
      t.name === '-'
        ? { name: 'stdin', digest: { sha256: t.sha256 } }
        : {
            uri: fileUri(t.name),
            name: t.name,
            digest: { sha256: t.sha256 },
            annotations: root(FILE_URI_ROOT.own),
          },
    );
  const externalParameters: Obj = {
    ...(i.dockerfile ? { dockerfile: i.dockerfile.path } : {}),
    platform: i.platform,
    platforms: i.request.platforms,
    buildArgs: i.request.buildArgs,
    labels: i.request.labels,
    annotations: i.request.annotations,
    tags: i.request.tags,
    format: i.request.format,
    ...(i.request.changes ? { changes: i.request.changes } : {}),
    ...(i.request.options ? { options: sortedKeys(i.request.options) } : {}),
    ...(i.imports.length
      ? { imports: i.imports.map((t) => (t.name === '-' ? 'stdin' : fileUri(t.name))) }
      : {}),
  };
  if (i.programs.length) {
    externalParameters.programs = i.programs.map((p) => ({
      name: p.program.name,
      target: p.compiler.target,
      cpu: p.compiler.cpu,
      flags: p.flags,
    }));
  }
  return statement([{ name: i.name, sha256: subjectHex(i) }], SLSA_PROVENANCE_V1, {
    buildDefinition: {
      buildType: BUILD_TYPE,
      externalParameters,
      internalParameters: { sourceDateEpoch: i.sourceDateEpoch },
      resolvedDependencies: deps,
    },
    runDetails: {
      builder: { id: BUILDER_ID, version: { [i.tool.name]: i.tool.version } },
      metadata: {},
    },
  });
}

function sortedKeys(o: Record<string, unknown>): Obj {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

export const provenanceJson = (i: ImageInputs): Buffer => serialize(provenanceStatement(i));
