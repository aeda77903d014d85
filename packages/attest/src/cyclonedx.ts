/**
 * CycloneDX 1.5 JSON for one platform image, from its real build inputs: the image is the metadata
 * component; each program is an application inside it, with musl as a statically linked library; zig, the
 * source files and the Dockerfile are build-time components (`scope: excluded`: not in the image); parents
 * and imported tarballs are listed by digest. The serial number is a UUID derived from the manifest digest.
 */
import {
  documentBlob,
  type ImageInputs,
  imagePurl,
  npmPurl,
  ociPurl,
  programPurl,
  roomFor,
  serialize,
  subjectHex,
  uuidV5,
} from './inputs.ts';
import { jsonRuns, jsonTemplate, lazy, q } from './json-stream.ts';
import { muslCpe, muslPurl } from './os-packages.ts';

export const CYCLONEDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json';

type Obj = Record<string, unknown>;
const sha = (hex: string) => [{ alg: 'SHA-256', content: hex }];
const prop = (name: string, value: string) => ({ name: `scratchpack:${name}`, value });

/**
 * An added file's component, `{ type: 'file', 'bom-ref', name, scope: 'required', hashes: [{ alg: 'SHA-1', content },
 * { alg: 'SHA-256', content }], description: 'a file in the image' }`, as JSON text (json-stream.ts).
 */
const FILE_COMPONENT = jsonTemplate`{"type":"file","bom-ref":${0},"name":${1},"scope":"required","hashes":[{"alg":"SHA-1","content":${2}},{"alg":"SHA-256","content":${3}}],"description":"a file in the image"}`;

export const cyclonedxFileComponent = (ref: string, name: string, sha1: string, sha256: string): string =>
  FILE_COMPONENT(q(ref), q(name), q(sha1), q(sha256));

/** The document as plain data (for callers that read it; `cyclonedxJson` writes the same document). */
export const cyclonedxDocument = (i: ImageInputs): Obj => JSON.parse(JSON.stringify(cyclonedxLazy(i))) as Obj;

/** The document with its `components` and the image's `dependsOn` `Lazy`: one entry per added file. */
function cyclonedxLazy(i: ImageInputs): Obj {
  const components: Obj[] = [];
  const deps = new Map<string, string[]>();
  const image = `image:${i.subject.digest}`;
  const dependOn = (a: string, b: string) => {
    const list = deps.get(a);
    if (list) list.push(b);
    else deps.set(a, [b]);
  };
  deps.set(image, []);
  if (i.dockerfile) {
    components.push({
      type: 'file',
      'bom-ref': 'dockerfile',
      name: i.dockerfile.path,
      scope: 'excluded',
      hashes: [
        { alg: 'SHA-1', content: i.dockerfile.sha1 },
        { alg: 'SHA-256', content: i.dockerfile.sha256 },
      ],
      description: 'the Dockerfile the image was built from',
    });
  }
  // One component per file the build adds: made as the document is written (json-stream.ts), never all at once.
  const componentCut = components.length;
  const fileRef = (n: number) => `file:${n}`;
  // `file:<n>` and the digests (hex) quoted as they are, without `q`'s check. One template literal with the quotes
  // in its constant text (FILE_COMPONENT's, held to it by the tests), as spdx.ts writes its file entries.
  const addedFiles = () =>
    jsonRuns(
      i.files,
      (f, n) =>
        `{"type":"file","bom-ref":"file:${n}","name":${q(f.path)},"scope":"required","hashes":[{"alg":"SHA-1","content":"${f.sha1}"},{"alg":"SHA-256","content":"${f.sha256}"}],"description":"a file in the image"}`,
    );
  i.programs.forEach((p, n) => {
    const prog = `program:${n}:${p.program.name}`;
    dependOn(image, prog);
    deps.set(prog, []);
    components.push({
      type: 'application',
      'bom-ref': prog,
      name: p.program.name,
      scope: 'required',
      hashes: sha(p.program.sha256),
      purl: programPurl(i, p.program.name),
      properties: [
        prop('platform', p.platform),
        prop('zig.target', p.compiler.target),
        prop('zig.cpu', p.compiler.cpu),
        prop('flags', p.flags.join(' ')),
      ],
    });
    const zig = `zig:${n}`;
    components.push({
      type: 'application',
      'bom-ref': zig,
      name: 'zig',
      version: p.compiler.version,
      scope: 'excluded',
      description: `the compiler (zig cc), found via ${p.compiler.source}`,
      ...(p.compiler.sha256 ? { hashes: sha(p.compiler.sha256) } : {}),
      ...(p.compiler.package ? { purl: npmPurl(p.compiler.package) } : {}),
    });
    p.sources.forEach((s, k) => {
      components.push({
        type: 'file',
        'bom-ref': `source:${n}:${k}`,
        name: s.path,
        scope: 'excluded',
        hashes: [
          { alg: 'SHA-1', content: s.sha1 },
          { alg: 'SHA-256', content: s.sha256 },
        ],
        description: `a source file of ${p.program.name}`,
      });
    });
    if (p.libc) {
      const musl = `musl:${n}`;
      dependOn(prog, musl);
      components.push({
        type: 'library',
        'bom-ref': musl,
        name: 'musl',
        version: p.libc.version,
        scope: 'required',
        licenses: [{ license: { id: 'MIT' } }],
        purl: muslPurl(p.libc.version),
        cpe: muslCpe(p.libc.version),
        description: `statically linked; the musl bundled with zig ${p.compiler.version}`,
      });
    }
  });
  i.parents.forEach((p, n) => {
    const ref = `parent:${n}`;
    dependOn(image, ref);
    components.push({
      type: 'container',
      'bom-ref': ref,
      name: p.name,
      version: p.digest,
      hashes: sha(p.digest.slice(7)),
      purl: ociPurl(p.name, p.digest),
      description: 'parent image (FROM)',
    });
  });
  i.packages?.forEach((p, n) => {
    const ref = `package:${n}:${p.name}`;
    dependOn(image, ref);
    components.push({
      type: 'library',
      'bom-ref': ref,
      name: p.name,
      version: p.version,
      purl: p.purl,
      ...(p.licenses.length ? { licenses: p.licenses.map((name) => ({ license: { name } })) } : {}),
    });
  });
  i.imports.forEach((t, n) => {
    components.push({
      type: 'file',
      'bom-ref': `import:${n}`,
      name: t.name,
      hashes: sha(t.sha256),
      description: 'imported root filesystem tarball',
    });
  });
  const os = i.osPackages;
  if (os?.distro) {
    dependOn(image, 'distro');
    components.push({
      type: 'operating-system',
      'bom-ref': 'distro',
      name: os.distro.id,
      ...(os.distro.versionId ? { version: os.distro.versionId } : {}),
      ...(os.distro.prettyName ? { description: os.distro.prettyName } : {}),
    });
  }
  for (const p of os?.packages ?? []) {
    dependOn(image, p.purl);
    components.push({
      type: 'library',
      'bom-ref': p.purl,
      name: p.name,
      version: p.version,
      scope: 'required',
      purl: p.purl,
      ...(p.license ? { licenses: [{ expression: p.license }] } : {}),
      properties: [prop('package.type', p.type), prop('package.arch', p.arch)],
    });
  }
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${uuidV5(`https://scratchpack.dev/cyclonedx/${i.subject.digest}/${i.platform}`)}`,
    version: 1,
    metadata: {
      timestamp: i.created,
      tools: { components: [{ type: 'application', name: i.tool.name, version: i.tool.version }] },
      component: {
        type: 'container',
        'bom-ref': image,
        name: i.name,
        version: i.subject.digest,
        hashes: sha(subjectHex(i)),
        purl: imagePurl(i),
        properties: [prop('platform', i.platform)],
      },
    },
    components: lazy(function* () {
      yield* components.slice(0, componentCut);
      yield* addedFiles();
      yield* components.slice(componentCut);
    }),
    dependencies: [...deps].map(([ref, dependsOn]) =>
      ref === image
        ? {
            ref,
            dependsOn: lazy(function* () {
              yield* jsonRuns(i.files, (_, n) => `"${fileRef(n)}"`);
              yield* dependsOn;
            }),
          }
        : { ref, dependsOn },
    ),
  };
}

export const cyclonedxJson = (i: ImageInputs): Buffer => serialize(cyclonedxLazy(i), roomFor(i));

/** The document as an artifact layer takes it: held, or written to a temp file when large (`documentBlob`). */
export const cyclonedxBlob = (i: ImageInputs) => documentBlob(cyclonedxLazy(i), i);
