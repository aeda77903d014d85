/**
 * SPDX 2.3 JSON for one platform image, from its real build inputs. The document describes the image
 * (by manifest digest), which CONTAINS each program; a program is GENERATED_FROM its source files, zig is
 * its BUILD_TOOL_OF, it has a STATIC_LINK to musl when linked with it; the Dockerfile is the
 * SPECIFICATION_FOR the image; the image is a DESCENDANT_OF its parents and EXPANDED_FROM_ARCHIVE its
 * imported tarballs. The namespace is derived from the manifest digest; `created` from SOURCE_DATE_EPOCH.
 */
import { NOASSERTION } from './build-info.ts';
import {
  documentBlob,
  type ImageInputs,
  imagePurl,
  npmPurl,
  ociPurl,
  platformLabel,
  programPurl,
  roomFor,
  serialize,
  subjectHex,
} from './inputs.ts';
import { jsonRuns, jsonTemplate, lazy, q } from './json-stream.ts';
import { muslCpe, muslPurl } from './os-packages.ts';

export const SPDX_MEDIA_TYPE = 'application/spdx+json';

type Obj = Record<string, unknown>;
const id = (s: string) => `SPDXRef-${s.replace(/[^A-Za-z0-9.-]/g, '-')}`;

const purlRef = (purl: string) => ({
  referenceCategory: 'PACKAGE-MANAGER',
  referenceType: 'purl',
  referenceLocator: purl,
});

/**
 * An added file's entry, `{ SPDXID, fileName, checksums: [{ algorithm: 'SHA1', checksumValue }, { algorithm:
 * 'SHA256', checksumValue }], comment: 'in the image' }`, as JSON text (json-stream.ts).
 */
const FILE_ENTRY = jsonTemplate`{"SPDXID":${0},"fileName":${1},"checksums":[{"algorithm":"SHA1","checksumValue":${2}},{"algorithm":"SHA256","checksumValue":${3}}],"comment":"in the image"}`;

export const spdxFileEntry = (spdxId: string, fileName: string, sha1: string, sha256: string): string =>
  FILE_ENTRY(q(spdxId), q(fileName), q(sha1), q(sha256));

const RELATIONSHIP = jsonTemplate`{"spdxElementId":${0},"relationshipType":${1},"relatedSpdxElement":${2}}`;

/** A relationship `{ spdxElementId, relationshipType, relatedSpdxElement }`, as JSON text (json-stream.ts). */
export const spdxRelationship = (a: string, type: string, b: string): string =>
  RELATIONSHIP(q(a), q(type), q(b));

/** A licence expression of SPDX identifiers (apk records these); anything else goes in a comment. */
const SPDX_EXPRESSION =
  /^(\(?[A-Za-z0-9][A-Za-z0-9.-]*\+?\)?)( (AND|OR|WITH) \(?[A-Za-z0-9][A-Za-z0-9.-]*\+?\)?)*$/;

/** The document as plain data (for callers that read it; `spdxJson` writes the same document). */
export const spdxDocument = (i: ImageInputs): Obj => JSON.parse(JSON.stringify(spdxLazy(i))) as Obj;

/**
 * The document with its `files` and `relationships` `Lazy`: one entry per added file, made while it is written.
 */
function spdxLazy(i: ImageInputs): Obj {
  const packages: Obj[] = [];
  const files: Obj[] = [];
  const rel: Obj[] = [];
  const relate = (a: string, type: string, b: string) =>
    rel.push({ spdxElementId: a, relationshipType: type, relatedSpdxElement: b });
  const image = id('Image');
  packages.push({
    SPDXID: image,
    name: i.name,
    versionInfo: i.subject.digest,
    downloadLocation: NOASSERTION,
    // SPDX 2.3 §7.8: a package whose files were not analysed must contain none; this one CONTAINS each file the
    // build added (pyspdxtools refuses the document otherwise). The verification code is optional in 2.3.
    filesAnalyzed: i.files.length > 0,
    primaryPackagePurpose: 'CONTAINER',
    checksums: [{ algorithm: 'SHA256', checksumValue: subjectHex(i) }],
    externalRefs: [
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: imagePurl(i),
      },
    ],
    comment: `${i.platform} image manifest`,
  });
  relate('SPDXRef-DOCUMENT', 'DESCRIBES', image);
  if (i.dockerfile) {
    const dockerfile = id('Dockerfile');
    files.push({
      SPDXID: dockerfile,
      fileName: `./${i.dockerfile.path.replace(/^\.\//, '')}`,
      checksums: [
        { algorithm: 'SHA1', checksumValue: i.dockerfile.sha1 },
        { algorithm: 'SHA256', checksumValue: i.dockerfile.sha256 },
      ],
      fileTypes: ['TEXT'],
    });
    relate(dockerfile, 'SPECIFICATION_FOR', image);
  }
  const programsBySha = new Map<string, string[]>();
  i.programs.forEach((p, k) => {
    const ids = programsBySha.get(p.program.sha256) ?? [];
    ids.push(id(`Program-${k}-${p.program.name}`));
    programsBySha.set(p.program.sha256, ids);
  });
  // The programs that are one of the added files: each CONTAINS that file, so its files were analysed (above).
  const programFiles = new Set<string>();
  if (programsBySha.size > 0)
    for (const f of i.files) if (programsBySha.has(f.sha256)) programFiles.add(f.sha256);
  // One entry per file the build adds: made as the document is written (json-stream.ts), never all at once.
  const fileCut = files.length;
  const relCut = rel.length;
  // `id('File-<n>')`: letters, digits and `-`, quoted as they are, without `q`'s check; so are the digests (hex).
  // Each entry is ONE template literal with the quotes in its constant text (FILE_ENTRY's and RELATIONSHIP's text,
  // held to them by the tests): V8 joins it in one go, where a template fill given quoted pieces made every piece
  // as a string first (the entries of 100,000 files took ~25 % longer).
  const imageId = q(image);
  const addedFiles = () =>
    jsonRuns(
      i.files,
      (f, n) =>
        `{"SPDXID":"SPDXRef-File-${n}","fileName":${q(`./${f.path}`)},"checksums":[{"algorithm":"SHA1","checksumValue":"${f.sha1}"},{"algorithm":"SHA256","checksumValue":"${f.sha256}"}],"comment":"in the image"}`,
    );
  const addedFileRelationships = () =>
    jsonRuns(i.files, (f, n) => {
      let text = `{"spdxElementId":${imageId},"relationshipType":"CONTAINS","relatedSpdxElement":"SPDXRef-File-${n}"}`;
      for (const prog of programsBySha.get(f.sha256) ?? [])
        text += `,${spdxRelationship(prog, 'CONTAINS', `SPDXRef-File-${n}`)}`;
      return text;
    });
  i.programs.forEach((p, n) => {
    const prog = id(`Program-${n}-${p.program.name}`);
    packages.push({
      SPDXID: prog,
      name: p.program.name,
      downloadLocation: NOASSERTION,
      filesAnalyzed: programFiles.has(p.program.sha256),
      primaryPackagePurpose: 'APPLICATION',
      checksums: [{ algorithm: 'SHA256', checksumValue: p.program.sha256 }],
      externalRefs: [purlRef(programPurl(i, p.program.name))],
      comment: `static ${p.platform} binary: zig ${p.flags.join(' ')}`,
    });
    relate(image, 'CONTAINS', prog);
    p.sources.forEach((s, k) => {
      const src = id(`Source-${n}-${k}`);
      files.push({
        SPDXID: src,
        fileName: `./${s.path}`,
        checksums: [
          { algorithm: 'SHA1', checksumValue: s.sha1 },
          { algorithm: 'SHA256', checksumValue: s.sha256 },
        ],
        fileTypes: ['SOURCE'],
      });
      relate(prog, 'GENERATED_FROM', src);
    });
    const zig = id(`Zig-${n}`);
    packages.push({
      SPDXID: zig,
      name: 'zig',
      versionInfo: p.compiler.version,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      primaryPackagePurpose: 'APPLICATION',
      ...(p.compiler.sha256
        ? { checksums: [{ algorithm: 'SHA256', checksumValue: p.compiler.sha256 }] }
        : {}),
      ...(p.compiler.package
        ? {
            externalRefs: [
              {
                referenceCategory: 'PACKAGE-MANAGER',
                referenceType: 'purl',
                referenceLocator: npmPurl(p.compiler.package),
              },
            ],
          }
        : {}),
      comment: `zig cc, found via ${p.compiler.source}`,
    });
    relate(zig, 'BUILD_TOOL_OF', prog);
    if (p.libc) {
      const musl = id(`Musl-${n}`);
      packages.push({
        SPDXID: musl,
        name: 'musl',
        versionInfo: p.libc.version,
        downloadLocation: NOASSERTION,
        filesAnalyzed: false,
        primaryPackagePurpose: 'LIBRARY',
        licenseConcluded: 'MIT',
        licenseDeclared: 'MIT',
        copyrightText: NOASSERTION,
        externalRefs: [
          purlRef(muslPurl(p.libc.version)),
          {
            referenceCategory: 'SECURITY',
            referenceType: 'cpe23Type',
            referenceLocator: muslCpe(p.libc.version),
          },
        ],
        comment: `the musl libc bundled with zig ${p.compiler.version}, built for ${p.compiler.target}`,
      });
      relate(prog, 'STATIC_LINK', musl);
      relate(zig, 'PACKAGE_OF', musl);
    }
  });
  i.parents.forEach((p, n) => {
    const parent = id(`Parent-${n}`);
    packages.push({
      SPDXID: parent,
      name: p.name,
      versionInfo: p.digest,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      primaryPackagePurpose: 'CONTAINER',
      checksums: [{ algorithm: 'SHA256', checksumValue: p.digest.slice(7) }],
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: ociPurl(p.name, p.digest),
        },
      ],
    });
    relate(image, 'DESCENDANT_OF', parent);
  });
  i.packages?.forEach((p, n) => {
    const pkg = id(`Package-${n}-${p.name}`);
    packages.push({
      SPDXID: pkg,
      name: p.name,
      versionInfo: p.version,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      primaryPackagePurpose: 'OTHER',
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl },
      ],
      licenseConcluded: NOASSERTION,
      licenseDeclared: NOASSERTION,
      ...(p.licenses.length
        ? { licenseComments: `per the package's copyright file: ${p.licenses.join(', ')}` }
        : {}),
      copyrightText: NOASSERTION,
    });
    relate(image, 'CONTAINS', pkg);
  });
  i.imports.forEach((t, n) => {
    const tar = id(`Import-${n}`);
    packages.push({
      SPDXID: tar,
      name: t.name,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      primaryPackagePurpose: 'ARCHIVE',
      checksums: [{ algorithm: 'SHA256', checksumValue: t.sha256 }],
    });
    relate(image, 'EXPANDED_FROM_ARCHIVE', tar);
  });
  const os = i.osPackages;
  if (os?.distro) {
    const distro = id('Distro');
    packages.push({
      SPDXID: distro,
      name: os.distro.id,
      ...(os.distro.versionId ? { versionInfo: os.distro.versionId } : {}),
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      primaryPackagePurpose: 'OPERATING_SYSTEM',
      ...(os.distro.prettyName ? { comment: os.distro.prettyName } : {}),
    });
    relate(image, 'CONTAINS', distro);
  }
  os?.packages.forEach((p, n) => {
    const pkg = id(`Package-${n}-${p.name}`);
    packages.push({
      SPDXID: pkg,
      name: p.name,
      versionInfo: p.version,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: p.license && SPDX_EXPRESSION.test(p.license) ? p.license : NOASSERTION,
      externalRefs: [purlRef(p.purl)],
      ...(p.license && !SPDX_EXPRESSION.test(p.license) ? { comment: `licence: ${p.license}` } : {}),
    });
    relate(image, 'CONTAINS', pkg);
  });
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${i.name} ${i.platform}`,
    documentNamespace: `https://scratchpack.dev/spdx/${platformLabel(i.platform)}/sha256-${subjectHex(i)}`,
    creationInfo: {
      created: i.created.replace(/\.\d+Z$/, 'Z'),
      creators: [`Tool: ${i.tool.name}-${i.tool.version}`],
    },
    packages,
    files: lazy(function* () {
      yield* files.slice(0, fileCut);
      yield* addedFiles();
      yield* files.slice(fileCut);
    }),
    relationships: lazy(function* () {
      yield* rel.slice(0, relCut);
      yield* addedFileRelationships();
      yield* rel.slice(relCut);
    }),
  };
}

export const spdxJson = (i: ImageInputs): Buffer => serialize(spdxLazy(i), roomFor(i));

/** The document as an artifact layer takes it: held, or written to a temp file when large (`documentBlob`). */
export const spdxBlob = (i: ImageInputs) => documentBlob(spdxLazy(i), i);
