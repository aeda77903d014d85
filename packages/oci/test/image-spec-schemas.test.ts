/**
 * Every index, manifest and config scratchpack writes — a multi-platform layout with referrers and
 * annotations, the index.json of an archive — validates against the official image-spec
 * v1.1.1 JSON schemas (fixtures/image-spec-v1.1.1, see its README).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendLayers,
  artifact,
  type Image,
  imageIndex,
  layerFromEntries,
  scratch,
  withAnnotations,
  withConfig,
  withPlatform,
  writeArchive,
  writeLayout,
  writeReferrers,
} from '../src/index.ts';
import { imageSpecSchemas, layoutDocuments } from './image-spec.ts';

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

describe('image-spec v1.1.1 schemas', () => {
  it('accept our layout: index.json, the index, manifests, configs, referrers, oci-layout', async () => {
    const v = await imageSpecSchemas();
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
    const docs = await layoutDocuments(layout);
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
    const archived = await layoutDocuments(x);
    for (const d of archived.indexes) expect(v.index(d)).toEqual([]);
    expect((archived.indexes[0] as { manifests: unknown[] }).manifests).toHaveLength(1);
  });

  it('refuse what the spec forbids (so the check can fail)', async () => {
    const v = await imageSpecSchemas();
    const m = JSON.parse((await (await image('amd64')).rawManifest()).toString());
    expect(v.manifest(m)).toEqual([]);
    expect(v.manifest({ ...m, layers: [{ ...m.layers[0], digest: 'no algorithm' }] })).not.toEqual([]);
    expect(v.manifest({ ...m, schemaVersion: 1 })).not.toEqual([]);
    // Through the $refs into the other files: a bad media type, an annotation that is not a string.
    expect(v.manifest({ ...m, config: { ...m.config, mediaType: 'not a media type' } })).not.toEqual([]);
    expect(v.manifest({ ...m, annotations: { a: 1 } })).not.toEqual([]);
    expect(
      v.config({
        architecture: 'amd64',
        os: 'linux',
        created: 'yesterday',
        rootfs: { type: 'layers', diff_ids: [] },
      }),
    ).not.toEqual([]);
    expect(
      v.config({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: 'x' } }),
    ).not.toEqual([]);
  });
});
