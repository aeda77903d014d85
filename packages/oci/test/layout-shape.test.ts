import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendLayers,
  BlobStore,
  layerFromEntries,
  loadDescriptor,
  parseImageManifest,
  parseIndexManifest,
  readLayout,
  scratch,
  sha256,
  withConfig,
  writeLayout,
} from '../src/index.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('oci-shape-'));
});
afterEach(() => cleanup());

async function layoutWithIndex(indexJson: string): Promise<void> {
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(dir, 'index.json'), indexJson);
}

const digest = `sha256:${'a'.repeat(64)}`;

describe('opening a layout checks index.json structurally', () => {
  it.each([
    [
      '"manifests": {}',
      '{"schemaVersion":2,"manifests":{}}',
      /manifests: expected an array of descriptors, got an object/,
    ],
    ['null', 'null', /expected a JSON object, got null/],
    ['an array', '[]', /expected a JSON object, got an array/],
    ['no manifests', '{"schemaVersion":2}', /manifests: expected an array/],
    ['no schemaVersion', '{"manifests":[]}', /schemaVersion: expected 2/],
    [
      'a descriptor without digest',
      `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":3}]}`,
      /manifests\[0\]\.digest/,
    ],
    [
      'a descriptor with a string size',
      `{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"${digest}","size":"3"}]}`,
      /manifests\[0\]\.size: expected a non-negative integer/,
    ],
    [
      'a non-string tag annotation',
      `{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"${digest}","size":3,"annotations":{"org.opencontainers.image.ref.name":1}}]}`,
      /annotations\.org\.opencontainers\.image\.ref\.name: expected a string/,
    ],
    [
      'a manifests entry that is null',
      '{"schemaVersion":2,"manifests":[null]}',
      /manifests\[0\]: expected a descriptor object/,
    ],
  ])('%s → a clear error naming the file', async (_, json, why) => {
    await layoutWithIndex(json);
    // A broken entry is set aside when the layout is opened; using it (here: the only entry) names its problem.
    const err = await readLayout(dir)
      .then((l) => l.descriptor())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OCI_INVALID_DOCUMENT' });
    expect((err as Error).message).toContain(join(dir, 'index.json'));
    expect((err as Error).message).toMatch(why);
    expect((err as { hint?: string }).hint).toBeTruthy();
  });

  it('broken JSON names the file', async () => {
    await layoutWithIndex('{"schemaVersion":2,');
    await expect(readLayout(dir)).rejects.toMatchObject({
      code: 'OCI_INVALID_JSON',
      message: expect.stringContaining(join(dir, 'index.json')),
    });
  });

  it('an index.json that is a directory is not "missing"', async () => {
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await mkdir(join(dir, 'index.json'));
    await expect(readLayout(dir)).rejects.toMatchObject({
      code: 'OCI_INVALID_DOCUMENT',
      message: expect.stringContaining(join(dir, 'index.json')),
    });
  });

  it('a missing index.json is still LayoutNotFound, a valid one opens', async () => {
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await expect(readLayout(dir)).rejects.toMatchObject({ code: 'OCI_LAYOUT_NOT_FOUND' });
    await writeFile(join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    expect(await (await readLayout(dir)).tags()).toEqual([]);
  });
});

describe('manifests read from a layout are checked before use', () => {
  it('a manifest blob with "layers": 5 is a clear error, not a TypeError', async () => {
    const img = await withConfig(
      await appendLayers(scratch, { layer: layerFromEntries([{ type: 'file', path: 'a', content: 'x' }]) }),
      { Cmd: ['/a'] },
    );
    await writeLayout(dir, img, { tags: ['t'] });
    const store = new BlobStore(dir);
    const bad = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: (await img.manifest()).config,
        layers: 5,
      }),
    );
    await store.write(sha256(bad), bad.length, bad);
    const d = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256(bad).toString(),
      size: bad.length,
    };
    await expect(loadDescriptor(store, d)).rejects.toMatchObject({
      code: 'OCI_INVALID_DOCUMENT',
      message: expect.stringMatching(/layers: expected an array of descriptors, got a number/),
    });
  });

  it.each(['manifest', 'config', 'layer'])(
    'a %s blob that is a directory is a clear error, not EISDIR',
    async (which) => {
      const img = await withConfig(
        await appendLayers(scratch, { layer: layerFromEntries([{ type: 'file', path: 'a', content: 'x' }]) }),
        { Cmd: ['/a'] },
      );
      await writeLayout(dir, img, { tags: ['t'] });
      const store = new BlobStore(dir);
      const digest =
        which === 'manifest'
          ? (await img.digest()).toString()
          : which === 'config'
            ? (await img.manifest()).config.digest
            : (await img.manifest()).layers[0]!.digest;
      await rm(store.path(digest));
      await mkdir(store.path(digest));
      const err = await (await readLayout(dir)).resolve('t').catch((e: unknown) => e as Error);
      expect(err).toMatchObject({
        code: 'OCI_BLOB_NOT_FOUND',
        message: `blob ${digest} in ${dir} is a directory: ${store.path(digest)}`,
        hint: expect.stringContaining('damaged'),
      });
    },
  );

  it('parseImageManifest / parseIndexManifest accept real documents', async () => {
    const img = await withConfig(scratch, { Cmd: ['/a'] });
    expect(parseImageManifest(await img.rawManifest(), 'm').layers).toEqual([]);
    expect(parseIndexManifest(Buffer.from('{"schemaVersion":2,"manifests":[]}'), 'i').manifests).toEqual([]);
  });
});
