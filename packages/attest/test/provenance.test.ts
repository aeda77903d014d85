/**
 * The provenance is complete (import's `--change` values and shaping options, build args, platforms) and its
 * `resolvedDependencies` are SLSA v1 ResourceDescriptors whose `uri` is a URI: `file:///P` under a stated root,
 * or `pkg:`. Checked field by field against the SLSA v1 provenance shape (slsa.dev/spec/v1.0/provenance).
 */
import { describe, expect, it } from 'vitest';
import { FILE_URI_ROOT, fileUri, provenanceJson } from '../src/index.ts';
import { sampleInputs } from './helpers.ts';

type Obj = Record<string, unknown>;
const parse = (b: Buffer) => JSON.parse(b.toString()) as Obj & { predicate: Obj & { buildDefinition: Obj } };
const DESCRIPTOR_FIELDS = [
  'uri',
  'digest',
  'name',
  'downloadLocation',
  'mediaType',
  'content',
  'annotations',
];

/** The SLSA v1 shape: required fields, ResourceDescriptor fields and types, and what each URI is. */
function slsaProblems(s: ReturnType<typeof parse>): string[] {
  const out: string[] = [];
  const p = s.predicate as { buildDefinition: Obj; runDetails: { builder: { id: unknown } } };
  if (Object.keys(p).sort().join() !== 'buildDefinition,runDetails') out.push('predicate fields');
  const bd = p.buildDefinition;
  if (typeof bd.buildType !== 'string' || !URL.canParse(bd.buildType)) out.push('buildType is not a URI');
  if (!bd.externalParameters || typeof bd.externalParameters !== 'object') out.push('externalParameters');
  if (typeof p.runDetails.builder.id !== 'string' || !URL.canParse(p.runDetails.builder.id))
    out.push('builder.id');
  for (const d of bd.resolvedDependencies as Obj[]) {
    const where = JSON.stringify(d);
    for (const k of Object.keys(d))
      if (!DESCRIPTOR_FIELDS.includes(k)) out.push(`${where}: unknown field ${k}`);
    if (d.uri === undefined && d.digest === undefined && d.content === undefined) out.push(`${where}: empty`);
    if (d.uri === undefined) continue;
    const uri = String(d.uri);
    if (!URL.canParse(uri)) out.push(`${where}: not a URI`);
    else if (uri.startsWith('file:')) {
      const u = new URL(uri);
      if (!uri.startsWith('file:///') || u.host !== '') out.push(`${where}: file URI with a host`);
      if (!Object.values(FILE_URI_ROOT).includes((d.annotations as Obj)?.root as never))
        out.push(`${where}: a file URI without its root`);
    } else if (!/^(pkg|git\+[a-z]+):/.test(uri)) out.push(`${where}: neither file:///, pkg: nor git+`);
    for (const [alg, v] of Object.entries((d.digest as Obj) ?? {}))
      if (typeof v !== 'string' || !/^[0-9a-f]+$/.test(v)) out.push(`${where}: digest ${alg}`);
  }
  return out;
}

describe('provenance', () => {
  it('every dependency is a SLSA v1 ResourceDescriptor with a real URI (file:/// under a stated root, or pkg:)', () => {
    const s = parse(provenanceJson(sampleInputs()));
    expect(slsaProblems(s)).toEqual([]);
    const deps = s.predicate.buildDefinition.resolvedDependencies as Obj[];
    expect(deps).toContainEqual({
      uri: 'file:///Dockerfile',
      name: 'Dockerfile',
      digest: { sha256: 'b'.repeat(64), sha1: 'c'.repeat(40) },
      annotations: { root: 'working-directory' },
    });
    expect(deps).toContainEqual(
      expect.objectContaining({ uri: 'file:///src/hello.c', annotations: { root: 'compile-directory' } }),
    );
    expect(deps).toContainEqual(
      expect.objectContaining({ uri: 'file:///rootfs.tar', annotations: { root: 'own-directory' } }),
    );
    expect(deps.map((d) => d.uri)).toContainEqual(expect.stringMatching(/^pkg:oci\/base.*@sha256%3Ac{64}\?/));
  });

  it('fileUri: relative, percent-encoded segments under file:///', () => {
    expect(fileUri('./src/a b#c.c')).toBe('file:///src/a%20b%23c.c');
    expect(fileUri('Dockerfile')).toBe('file:///Dockerfile');
    expect(new URL(fileUri('dir/ünï.tar')).pathname).toBe('/dir/%C3%BCn%C3%AF.tar');
  });

  it("an import's provenance names every --change and shaping option; standard input has a digest, no URI", () => {
    const inputs = sampleInputs({
      dockerfile: undefined,
      programs: [],
      parents: [],
      imports: [{ name: '-', sha256: 'd'.repeat(64) }],
    });
    inputs.request = {
      ...inputs.request,
      changes: ['CMD ["/bin/sh"]', 'ENV A=1'],
      options: { tar: 'kept', message: 'Imported from -', compressionLevel: 9 },
    };
    const s = parse(provenanceJson(inputs));
    expect(slsaProblems(s)).toEqual([]);
    const bd = s.predicate.buildDefinition as { externalParameters: Obj; resolvedDependencies: Obj[] };
    expect(bd.externalParameters).toMatchObject({
      platforms: ['linux/amd64', 'linux/arm64/v8'],
      buildArgs: { A: '1' },
      changes: ['CMD ["/bin/sh"]', 'ENV A=1'],
      imports: ['stdin'],
    });
    // Options in one order whatever order they were given in: the statement is byte-reproducible.
    expect(Object.keys(bd.externalParameters.options as Obj)).toEqual(['compressionLevel', 'message', 'tar']);
    expect(bd.resolvedDependencies).toEqual([{ name: 'stdin', digest: { sha256: 'd'.repeat(64) } }]);
    const again = sampleInputs({
      ...inputs,
      request: {
        ...inputs.request,
        options: { compressionLevel: 9, message: 'Imported from -', tar: 'kept' },
      },
    });
    expect(provenanceJson(again).equals(provenanceJson(inputs))).toBe(true);
  });
});
