/**
 * Every index, manifest and config scratchpack writes — a multi-platform layout with referrers, a Docker-free
 * import-like image with history, the index.json of an archive — validates against the official image-spec
 * v1.1.1 JSON schemas (fixtures/image-spec-v1.1.1, see its README).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import AjvDraft04Module from 'ajv-draft-04';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendLayers,
  artifact,
  type Image,
  imageIndex,
  layerFromEntries,
  MediaTypes,
  scratch,
  withAnnotations,
  withConfig,
  withPlatform,
  writeArchive,
  writeLayout,
  writeReferrers,
} from '../src/index.ts';

// A CommonJS module: under NodeNext its default import is the module object (as helpers do for ajv-formats).
const AjvDraft04 = AjvDraft04Module as unknown as typeof AjvDraft04Module.default;
const SCHEMAS = join(import.meta.dirname, 'fixtures', 'image-spec-v1.1.1');

/** The schemas, each known by its file name (as the spec's Go validator loads them). */
async function schemas() {
  const ajv = new AjvDraft04({ allErrors: true, strict: false });
  const dropNestedIds = (x: unknown, root: boolean): unknown => {
    if (Array.isArray(x)) return x.map((v) => dropNestedIds(v, false));
    if (!x || typeof x !== 'object') return x;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) {
      if (k === 'id' && typeof v === 'string' && !root) continue;
      out[k] = dropNestedIds(v, false);
    }
    return out;
  };
  for (const f of (await readdir(SCHEMAS)).filter((n) => n.endsWith('.json'))) {
    const s = dropNestedIds(JSON.parse(await readFile(join(SCHEMAS, f), 'utf8')), true) as Record<
      string,
      unknown
    >;
    s.id = `https://opencontainers.org/schema/${f}`;
    ajv.addSchema(s);
  }
  const check = (file: string) => {
    const v = ajv.getSchema(`https://opencontainers.org/schema/${file}`)!;
    return (doc: unknown) =>
      v(doc)
        ? []
        : (v.errors ?? []).map(
            (e: { instancePath: string; message?: string }) => `${e.instancePath} ${e.message}`,
          );
  };
  return {
    index: check('image-index-schema.json'),
    manifest: check('image-manifest-schema.json'),
    config: check('config-schema.json'),
    layout: check('image-layout-schema.json'),
  };
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('oci-schemas-'));
});
afterEach(() => cleanup());

async function image(architecture: string, variant?: string): Promise<Image> {
  const layer = layerFromEntries([{ type: 'file', path: 'hello', content: architecture, mode: 0o755 }]);
  const img = await appendLayers(scratch, { layer, history: { created_by: 'COPY hello /' } });
  const configured = await withConfig(img, { Cmd: ['/hello'], Env: ['PATH=/bin'], Labels: { a: 'b' } });
  const platformed = await withPlatform(configured, {
    os: 'linux',
    architecture,
    ...(variant ? { variant } : {}),
  });
  return withAnnotations(platformed, { 'org.opencontainers.image.created': '1970-01-01T00:00:00Z' });
}

/** Every blob of the layout at `root` that is an index, a manifest or a config, by what it is. */
async function documents(root: string) {
  const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8'));
  const out = { indexes: [index] as unknown[], manifests: [] as unknown[], configs: [] as unknown[] };
  const blob = async (d: string) =>
    JSON.parse(await readFile(join(root, 'blobs', 'sha256', d.slice(7)), 'utf8'));
  const seen = new Set<string>();
  const visit = async (d: { mediaType: string; digest: string }) => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    if (d.mediaType === MediaTypes.ociIndex) {
      const idx = await blob(d.digest);
      out.indexes.push(idx);
      for (const m of idx.manifests) await visit(m);
    } else if (d.mediaType === MediaTypes.ociManifest) {
      const m = await blob(d.digest);
      out.manifests.push(m);
      if (m.config.mediaType === MediaTypes.ociConfig) out.configs.push(await blob(m.config.digest));
    }
  };
  for (const m of index.manifests) await visit(m);
  return out;
}

describe('image-spec v1.1.1 schemas', () => {
  it('accept our layout: index.json, the index, manifests, configs, referrers, oci-layout', async () => {
    const v = await schemas();
    const idx = imageIndex([{ image: await image('amd64') }, { image: await image('arm', 'v7') }], {
      annotations: { 'org.opencontainers.image.created': '1970-01-01T00:00:00Z' },
    });
    const layout = join(dir, 'oci');
    await writeLayout(layout, idx, { tags: ['latest', '1.0'], imageName: 'example.test/hello' });
    const subject = {
      mediaType: idx.mediaType(),
      digest: (await idx.digest()).toString(),
      size: await idx.size(),
    };
    await writeReferrers(layout, [
      artifact({
        artifactType: 'application/spdx+json',
        subject,
        layers: [{ mediaType: 'application/spdx+json', bytes: Buffer.from('{}') }],
        annotations: { 'org.opencontainers.image.created': '1970-01-01T00:00:00Z' },
      }),
    ]);
    const docs = await documents(layout);
    expect([docs.indexes.length, docs.manifests.length, docs.configs.length]).toEqual([2, 3, 2]);
    for (const d of docs.indexes) expect(v.index(d)).toEqual([]);
    for (const d of docs.manifests) expect(v.manifest(d)).toEqual([]);
    for (const d of docs.configs) expect(v.config(d)).toEqual([]);
    expect(v.layout(JSON.parse(await readFile(join(layout, 'oci-layout'), 'utf8')))).toEqual([]);

    // The archive's index.json (one entry, the full index as a blob it points to).
    await writeArchive(layout, join(dir, 'a.tar'));
    const x = join(dir, 'x');
    await mkdir(x);
    execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', x]);
    const archived = await documents(x);
    for (const d of archived.indexes) expect(v.index(d)).toEqual([]);
    expect((archived.indexes[0] as { manifests: unknown[] }).manifests).toHaveLength(1);
  });

  it('refuse what the spec forbids (so the check can fail)', async () => {
    const v = await schemas();
    const m = JSON.parse((await (await image('amd64')).rawManifest()).toString());
    expect(v.manifest(m)).toEqual([]);
    expect(v.manifest({ ...m, layers: [{ ...m.layers[0], digest: 'no algorithm' }] })).not.toEqual([]);
    expect(v.manifest({ ...m, schemaVersion: 1 })).not.toEqual([]);
    // Through the $refs into the other files: a bad media type, an annotation that is not a string.
    expect(v.manifest({ ...m, config: { ...m.config, mediaType: 'not a media type' } })).not.toEqual([]);
    expect(v.manifest({ ...m, annotations: { a: 1 } })).not.toEqual([]);
    expect(
      v.config({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: 'x' } }),
    ).not.toEqual([]);
  });
});
