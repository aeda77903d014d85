import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EMPTY_DESCRIPTOR } from '@scratchpack/oci';
import { tempDir } from '@scratchpack/test-utils';
import { describe, expect, it } from 'vitest';
import {
  attestations,
  buildInfos,
  bundledMuslVersion,
  CYCLONEDX_MEDIA_TYPE,
  cyclonedxJson,
  IN_TOTO_MEDIA_TYPE,
  NOASSERTION,
  provenanceJson,
  readBuildInfos,
  SPDX_MEDIA_TYPE,
  spdxJson,
  uuidV5,
  writeBuildInfos,
} from '../src/index.ts';
import { fakeZig, sampleInputs, validators } from './helpers.ts';

const { spdx, cyclonedx } = validators();
const parse = (b: Buffer) => JSON.parse(b.toString());

describe('SBOMs and provenance', () => {
  it('SPDX 2.3 validates against its JSON schema and describes the real inputs', () => {
    const doc = parse(spdxJson(sampleInputs()));
    expect(spdx(doc)).toEqual([]);
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(doc.documentNamespace).toBe(
      `https://scratchpack.dev/spdx/linux-arm64-v8/sha256-${'a'.repeat(64)}`,
    );
    const byName = (n: string) => doc.packages.find((p: { name: string }) => p.name === n);
    expect(byName('ghcr.io/me/hello').checksums).toEqual([
      { algorithm: 'SHA256', checksumValue: 'a'.repeat(64) },
    ]);
    expect(byName('zig').versionInfo).toBe('0.11.0');
    expect(byName('musl').versionInfo).toBe('1.2.4');
    expect(byName('hello').checksums[0].checksumValue).toBe('e'.repeat(64));
    expect(doc.files.map((f: { fileName: string }) => f.fileName)).toEqual([
      './Dockerfile',
      './hello',
      './src/hello.c',
    ]);
    // The file in the image is the compiled program.
    expect(doc.relationships).toContainEqual({
      spdxElementId: 'SPDXRef-Program-0-hello',
      relationshipType: 'CONTAINS',
      relatedSpdxElement: 'SPDXRef-File-0',
    });
    const types = doc.relationships.map((r: { relationshipType: string }) => r.relationshipType);
    for (const t of [
      'DESCRIBES',
      'CONTAINS',
      'GENERATED_FROM',
      'BUILD_TOOL_OF',
      'STATIC_LINK',
      'DESCENDANT_OF',
      'EXPANDED_FROM_ARCHIVE',
    ])
      expect(types).toContain(t);
  });

  it('a package CONTAINS files only when its files were analysed (SPDX 2.3 §7.8, as pyspdxtools checks)', () => {
    type Rel = { spdxElementId: string; relationshipType: string; relatedSpdxElement: string };
    type Pkg = { SPDXID: string; filesAnalyzed?: boolean };
    /** The packages pyspdxtools' package validator refuses: files not analysed, yet a file is in them. */
    const refused = (doc: { packages: Pkg[]; files: { SPDXID: string }[]; relationships: Rel[] }) => {
      const files = new Set(doc.files.map((f) => f.SPDXID));
      return doc.packages
        .filter((p) => p.filesAnalyzed === false)
        .filter((p) =>
          doc.relationships.some(
            (r) =>
              (r.relationshipType === 'CONTAINS' &&
                r.spdxElementId === p.SPDXID &&
                files.has(r.relatedSpdxElement)) ||
              (r.relationshipType === 'CONTAINED_BY' &&
                r.relatedSpdxElement === p.SPDXID &&
                files.has(r.spdxElementId)),
          ),
        )
        .map((p) => p.SPDXID);
    };
    const withFiles = parse(spdxJson(sampleInputs()));
    expect(refused(withFiles)).toEqual([]);
    const packageOf = (doc: { packages: Pkg[] }, id: string) => doc.packages.find((p) => p.SPDXID === id)!;
    // The image and the program that is one of its files contain files; zig and musl do not.
    expect(packageOf(withFiles, 'SPDXRef-Image').filesAnalyzed).toBe(true);
    expect(packageOf(withFiles, 'SPDXRef-Program-0-hello').filesAnalyzed).toBe(true);
    expect(packageOf(withFiles, 'SPDXRef-Zig-0').filesAnalyzed).toBe(false);
    // The rule itself sees the mistake it is there for: the same document with the image marked not analysed.
    packageOf(withFiles, 'SPDXRef-Image').filesAnalyzed = false;
    expect(refused(withFiles)).toEqual(['SPDXRef-Image']);
    // An image that adds no file of its own (a parent and an import only) lists none, and says so.
    const none = parse(spdxJson(sampleInputs({ files: [] })));
    expect(refused(none)).toEqual([]);
    expect(packageOf(none, 'SPDXRef-Image').filesAnalyzed).toBe(false);
    expect(packageOf(none, 'SPDXRef-Program-0-hello').filesAnalyzed).toBe(false);
    expect(spdx(none)).toEqual([]);
  });

  it('an image without a name gets a purl without repository_url (its placeholder name is no place to fetch it)', () => {
    const hex = 'a'.repeat(64);
    const named = sampleInputs();
    const unnamed = sampleInputs({ name: 'image', named: false });
    const spdxPurl = (i: ReturnType<typeof sampleInputs>) =>
      parse(spdxJson(i)).packages[0].externalRefs[0].referenceLocator;
    const cdxPurl = (i: ReturnType<typeof sampleInputs>) => parse(cyclonedxJson(i)).metadata.component.purl;
    expect(spdxPurl(named)).toBe(
      `pkg:oci/hello@sha256%3A${hex}?repository_url=ghcr.io%2Fme%2Fhello&arch=arm64&os=linux&variant=v8`,
    );
    expect(spdxPurl(unnamed)).toBe(`pkg:oci/image@sha256%3A${hex}?arch=arm64&os=linux&variant=v8`);
    expect(cdxPurl(unnamed)).toBe(spdxPurl(unnamed));
    expect(cdxPurl(named)).toBe(spdxPurl(named));
    expect(spdx(parse(spdxJson(unnamed)))).toEqual([]);
    expect(cyclonedx(parse(cyclonedxJson(unnamed)))).toEqual([]);
  });

  it('a program without libc has no musl; the schema still holds', () => {
    const i = sampleInputs({ parents: [], imports: [] });
    i.programs[0]!.libc = null;
    const doc = parse(spdxJson(i));
    expect(spdx(doc)).toEqual([]);
    expect(doc.packages.map((p: { name: string }) => p.name)).not.toContain('musl');
    expect(cyclonedx(parse(cyclonedxJson(i)))).toEqual([]);
  });

  it('CycloneDX 1.5 validates against the schema the CycloneDX library ships', () => {
    const doc = parse(cyclonedxJson(sampleInputs()));
    expect(cyclonedx(doc)).toEqual([]);
    expect(doc.specVersion).toBe('1.5');
    expect(doc.metadata.component.hashes[0].content).toBe('a'.repeat(64));
    expect(doc.components.find((c: { name: string }) => c.name === 'musl').version).toBe('1.2.4');
    // The schema does catch a broken document.
    expect(cyclonedx({ ...doc, serialNumber: 'nope' })).not.toEqual([]);
    expect(
      spdx({ ...parse(spdxJson(sampleInputs())), creationInfo: { created: 'yesterday', creators: [] } }),
    ).not.toEqual([]);
  });

  it('serial numbers and namespaces come from the digest: same inputs, same bytes; another image, others', () => {
    const a = sampleInputs();
    const b = sampleInputs({ subject: { ...a.subject, digest: `sha256:${'9'.repeat(64)}` } });
    expect(spdxJson(a).equals(spdxJson(sampleInputs()))).toBe(true);
    expect(cyclonedxJson(a).equals(cyclonedxJson(sampleInputs()))).toBe(true);
    expect(provenanceJson(a).equals(provenanceJson(sampleInputs()))).toBe(true);
    expect(parse(cyclonedxJson(a)).serialNumber).not.toBe(parse(cyclonedxJson(b)).serialNumber);
    expect(uuidV5('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('provenance is an in-toto Statement v1 with SLSA v1 required fields and every dependency digest', () => {
    const s = parse(provenanceJson(sampleInputs()));
    expect(s._type).toBe('https://in-toto.io/Statement/v1');
    expect(s.subject).toEqual([{ name: 'ghcr.io/me/hello', digest: { sha256: 'a'.repeat(64) } }]);
    expect(s.predicateType).toBe('https://slsa.dev/provenance/v1');
    const bd = s.predicate.buildDefinition;
    expect(bd.buildType).toMatch(/^https:\/\//);
    expect(bd.externalParameters).toMatchObject({
      dockerfile: 'Dockerfile',
      buildArgs: { A: '1' },
      platform: 'linux/arm64/v8',
    });
    expect(s.predicate.runDetails.builder.id).toMatch(/^https:\/\//);
    const uris = bd.resolvedDependencies.map((d: { uri: string }) => d.uri);
    expect(uris).toContain('file:///src/hello.c');
    expect(uris).toContain('pkg:npm/%40ryoppippi/zig-linux-x64@0.11.0');
    expect(uris).toContain('pkg:generic/musl@1.2.4');
    expect(JSON.stringify(s)).not.toMatch(/startedOn|finishedOn/);
  });

  it('attestations are referrers of the image manifest with the right artifact types', async () => {
    const i = sampleInputs();
    const all = await attestations(i);
    expect(all.map((a) => a.manifest.artifactType)).toEqual([
      SPDX_MEDIA_TYPE,
      CYCLONEDX_MEDIA_TYPE,
      IN_TOTO_MEDIA_TYPE,
    ]);
    for (const a of all) {
      expect(a.manifest.subject).toEqual(i.subject);
      expect(a.manifest.config).toEqual(EMPTY_DESCRIPTOR);
    }
    expect((await attestations(i, { sbom: false })).map((a) => a.manifest.artifactType)).toEqual([
      IN_TOTO_MEDIA_TYPE,
    ]);
    expect(await attestations(i, { sbom: false, provenance: false })).toEqual([]);
  });
});

describe('build info', () => {
  it('records zig, musl from zig’s lib dir, flags without build folders, and source digests', async () => {
    const t = await tempDir('attest-bi-');
    try {
      const zig = await fakeZig(t.path, '1.2.5');
      expect(bundledMuslVersion(zig)).toBe('1.2.5');
      expect(bundledMuslVersion(join(t.path, 'missing-zig'), () => 'not json')).toBe(NOASSERTION);
      await mkdir(join(t.path, 'src'));
      await mkdir(join(t.path, 'dist', 'linux-amd64'), { recursive: true });
      await writeFile(join(t.path, 'src', 'p.c'), 'int main(){return 0;}\n');
      const out = join(t.path, 'dist', 'linux-amd64', 'p');
      await writeFile(out, 'binary');
      const platform = { name: 'linux/amd64', zigTarget: 'x86_64-linux-musl', zigCpu: 'x86_64' };
      const argv = [
        zig,
        'cc',
        '-target',
        'x86_64-linux-musl',
        `-ffile-prefix-map=${t.path}=.`,
        '-Os',
        '-o',
        `${out}.tmp-1`,
        'src/p.c',
      ];
      const opts = {
        zig: { path: zig, source: 'env', version: '0.99.0' },
        sources: ['src/p.c'],
        cwd: t.path,
        name: 'p',
      };
      const [info] = await buildInfos([{ platform, out, argv }], opts);
      expect(info!.compiler).toMatchObject({ version: '0.99.0', target: 'x86_64-linux-musl', cpu: 'x86_64' });
      expect(info!.libc).toEqual({ name: 'musl', version: '1.2.5' });
      expect(info!.flags).toEqual(['cc', '-target', 'x86_64-linux-musl', '-ffile-prefix-map=.=.', '-Os']);
      expect(info!.sources[0]!.path).toBe('src/p.c');
      expect(JSON.stringify(info)).not.toContain(t.path);
      const [noLibc] = await buildInfos([{ platform, out, argv: [...argv, '-nostdlib'] }], opts);
      expect(noLibc!.libc).toBeNull();
      await writeBuildInfos([{ platform, out, argv }], opts);
      const read = await readBuildInfos(join(t.path, 'dist', 'linux-amd64'));
      expect(read.infos).toEqual([info]);
      await writeFile(out, 'rebuilt');
      expect((await readBuildInfos(join(t.path, 'dist', 'linux-amd64'))).stale).toHaveLength(1);
    } finally {
      await t.cleanup();
    }
  });
});
