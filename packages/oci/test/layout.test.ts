import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendLayers,
  BlobStore,
  type Image,
  type ImageIndex,
  imageIndex,
  isImageIndex,
  type Layer,
  layerFromEntries,
  parseLayoutRef,
  readLayout,
  scratch,
  sha256,
  validateLayout,
  withConfig,
  withPlatform,
  writeBlob,
  writeLayout,
} from '../src/index.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('oci-layout-'));
});
afterEach(() => cleanup());

async function image(platform: string, content = 'hi', layerOverride?: Layer): Promise<Image> {
  const [os, architecture] = platform.split('/') as [string, string];
  const l = layerOverride ?? layerFromEntries([{ type: 'file', path: 'hello', content, mode: 0o755 }]);
  return withPlatform(await withConfig(await appendLayers(scratch, { layer: l }), { Cmd: ['/hello'] }), {
    os,
    architecture,
  });
}

async function twoPlatforms(content = 'hi'): Promise<ImageIndex> {
  return imageIndex([
    { image: await image('linux/amd64', content) },
    { image: await image('linux/arm64', content) },
  ]);
}

describe('parseLayoutRef', () => {
  it.each([
    ['dist/oci:latest', { dir: 'dist/oci', tag: 'latest' }],
    ['dist/oci', { dir: 'dist/oci' }],
    ['/abs/path/oci:v1.2.3', { dir: '/abs/path/oci', tag: 'v1.2.3' }],
    ['weird:dir/oci', { dir: 'weird:dir/oci' }],
    ['weird:dir/oci:x', { dir: 'weird:dir/oci', tag: 'x' }],
    ['C:\\images\\oci', { dir: 'C:\\images\\oci' }],
  ])('%s', (ref, want) => expect(parseLayoutRef(ref)).toEqual(want));

  it('refuses empty refs and tags', () => {
    expect(() => parseLayoutRef('')).toThrow(expect.objectContaining({ code: 'OCI_INVALID_REF' }));
    expect(() => parseLayoutRef('dist/oci:')).toThrow(/empty tag/);
  });
});

describe('writeLayout / readLayout', () => {
  it('writes oci-layout, index.json with ref names and every blob; reads it back lazily', async () => {
    const idx = await twoPlatforms();
    const res = await writeLayout(dir, idx, { tags: ['latest'], imageName: 'example.com/hello' });
    expect(res.descriptor.digest).toBe((await idx.digest()).toString());
    expect(await readFile(join(dir, 'oci-layout'), 'utf8')).toBe('{"imageLayoutVersion":"1.0.0"}');
    const indexJson = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    expect(indexJson).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          ...res.descriptor,
          annotations: {
            'io.containerd.image.name': 'example.com/hello:latest',
            'org.opencontainers.image.ref.name': 'latest',
          },
        },
      ],
    });
    // 1 shared layer + 2 configs + 2 manifests + 1 index
    expect((await readdir(join(dir, 'blobs/sha256'))).length).toBe(6);
    const layout = await readLayout(dir);
    expect(await layout.tags()).toEqual(['latest']);
    const back = await layout.resolve('latest');
    expect(isImageIndex(back)).toBe(true);
    expect((await back.rawManifest()).equals(await idx.rawManifest())).toBe(true);
    expect((await layout.resolve()).mediaType()).toBe(idx.mediaType());
    await validateLayout(dir);
  });

  it('is idempotent: same content twice → same bytes, nothing rewritten', async () => {
    await writeLayout(dir, await twoPlatforms(), { tags: ['latest'] });
    const first = await readFile(join(dir, 'index.json'));
    const blobTimes = await Promise.all(
      (await readdir(join(dir, 'blobs/sha256'))).map(
        async (f) => (await stat(join(dir, 'blobs/sha256', f))).mtimeMs,
      ),
    );
    const again = await writeLayout(dir, await twoPlatforms(), { tags: ['latest'] });
    expect(again.blobsWritten).toBe(0);
    expect((await readFile(join(dir, 'index.json'))).equals(first)).toBe(true);
    const after = await Promise.all(
      (await readdir(join(dir, 'blobs/sha256'))).map(
        async (f) => (await stat(join(dir, 'blobs/sha256', f))).mtimeMs,
      ),
    );
    expect(after).toEqual(blobTimes);
  });

  it('adding a tag keeps the others; re-using a tag replaces it', async () => {
    await writeLayout(dir, await twoPlatforms('one'), { tags: ['v1', 'latest'] });
    const two = await twoPlatforms('two');
    await writeLayout(dir, two, { tags: ['latest', 'v2'] });
    const layout = await readLayout(dir);
    expect(await layout.tags()).toEqual(['latest', 'v1', 'v2']);
    expect((await layout.descriptor('latest')).digest).toBe((await two.digest()).toString());
    expect((await layout.descriptor('v1')).digest).not.toBe((await two.digest()).toString());
    await expect(layout.resolve('nope')).rejects.toMatchObject({
      code: 'OCI_TAG_NOT_FOUND',
      message: expect.stringContaining('available: latest, v1, v2'),
    });
  });

  it('writes a single image too, untagged entries are not duplicated', async () => {
    const img = await image('linux/amd64');
    await writeLayout(dir, img);
    await writeLayout(dir, img);
    const layout = await readLayout(dir);
    expect((await layout.index()).manifests).toHaveLength(1);
    expect(isImageIndex(await layout.resolve())).toBe(false);
  });

  it('a failure mid-write leaves the previous index.json intact and no temp files', async () => {
    await writeLayout(dir, await twoPlatforms('good'), { tags: ['latest'] });
    const before = await readFile(join(dir, 'index.json'));
    const good = layerFromEntries([{ type: 'file', path: 'x', content: 'x'.repeat(100_000) }]);
    const failing: Layer = {
      ...good,
      digest: () => good.digest(),
      diffId: () => good.diffId(),
      size: () => good.size(),
      uncompressedSize: () => good.uncompressedSize(),
      mediaType: () => good.mediaType(),
      compressed: () =>
        Readable.from(
          (async function* () {
            yield Buffer.alloc(10);
            throw new Error('disk on fire');
          })(),
        ),
    };
    const bad = imageIndex([{ image: await image('linux/amd64', 'x', failing) }]);
    await expect(writeLayout(dir, bad, { tags: ['latest'] })).rejects.toThrow('disk on fire');
    expect((await readFile(join(dir, 'index.json'))).equals(before)).toBe(true);
    const leftovers = [...(await readdir(dir)), ...(await readdir(join(dir, 'blobs/sha256')))].filter((f) =>
      f.startsWith('.tmp-'),
    );
    expect(leftovers).toEqual([]);
    expect(await new BlobStore(dir).has(await good.digest())).toBe(false);
    await validateLayout(dir);
  });

  it('writeBlob verifies digest and size before renaming, and skips present blobs', async () => {
    const store = new BlobStore(dir);
    const bytes = Buffer.from('blob');
    await expect(writeBlob(store.path(sha256('other')), sha256('other'), 4, bytes)).rejects.toMatchObject({
      code: 'OCI_DIGEST_MISMATCH',
    });
    await expect(store.write(sha256(bytes), 5, bytes)).rejects.toMatchObject({ code: 'OCI_SIZE_MISMATCH' });
    expect(await store.write(sha256(bytes), 4, bytes)).toBe(true);
    expect(await store.write(sha256(bytes), 4, () => Readable.from([Buffer.from('nope')]))).toBe(false);
    expect(await store.read(sha256(bytes))).toEqual(bytes);
    await expect(store.read(sha256('missing'))).rejects.toMatchObject({ code: 'OCI_BLOB_NOT_FOUND' });
  });

  it('a layer kept in its spool file is linked (or copied) from it: the same blob as streamed; a file of another size is refused', async () => {
    const big = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i * 7919}\n`).join(''));
    const entries = [{ type: 'file' as const, path: 'big', content: big }];
    const spooled = layerFromEntries(entries, { spoolThreshold: 1024 });
    const held = layerFromEntries(entries);
    await spooled.digest();
    const file = spooled.compressedFile?.();
    expect(file).toBeDefined();
    expect((await readFile(file!)).byteLength).toBe(await spooled.size());
    expect(held.compressedFile?.()).toBeUndefined();
    await writeLayout(dir, await image('linux/amd64', 'x', spooled), { tags: ['a'] });
    const blob = await readFile(new BlobStore(dir).path(await spooled.digest()));
    expect(sha256(blob).toString()).toBe((await held.digest()).toString());
    // On one filesystem the blob is the spool's file under a second name: no copy.
    const [spool, stored] = [await stat(file!), await stat(new BlobStore(dir).path(await spooled.digest()))];
    if (spool.dev === stored.dev) expect(stored.ino).toBe(spool.ino);
    // The spool is made private (0600, in a private directory); the blob gets the mode of any other blob written
    // here (readable by others under the usual umask), so another user can read a layout root made.
    const plain = new BlobStore(join(dir, 'plain'));
    await plain.write(sha256(big), big.byteLength, big);
    const usual = (await stat(plain.path(sha256(big)))).mode & 0o7777;
    expect((await stat(new BlobStore(dir).path(await spooled.digest()))).mode & 0o7777).toBe(usual);
    const other = new BlobStore(join(dir, 'other'));
    await expect(other.write(await spooled.digest(), 5, { file: file! })).rejects.toMatchObject({
      code: 'OCI_SIZE_MISMATCH',
    });
    await validateLayout(dir);
  });

  it('readLayout explains a missing layout', async () => {
    await expect(readLayout(join(dir, 'nope'))).rejects.toMatchObject({ code: 'OCI_LAYOUT_NOT_FOUND' });
  });

  it('validateLayout catches a corrupted blob and lists every problem', async () => {
    const idx = await twoPlatforms();
    await writeLayout(dir, idx, { tags: ['latest'] });
    const img = (await idx.images())[0]!.image;
    const layerDigest = (await img.manifest()).layers[0]!.digest;
    const p = new BlobStore(dir).path(layerDigest);
    const bytes = await readFile(p);
    bytes[bytes.length - 5]! ^= 0xff;
    await writeFile(p, bytes);
    const report = await validateLayout(dir, { throwOnProblems: false });
    expect(report.problems.length).toBeGreaterThanOrEqual(2); // the same layer is shared by both platforms
    expect(report.problems.join('\n')).toContain(`layer 0 digest ${layerDigest} does not match its bytes`);
    await expect(validateLayout(dir, { tag: 'latest' })).rejects.toMatchObject({
      code: 'OCI_VALIDATION_FAILED',
    });
  });

  it('validateLayout reports a tampered config (platform mismatch and digest)', async () => {
    const idx = await twoPlatforms();
    await writeLayout(dir, idx, { tags: ['latest'] });
    const cd = await (await idx.images())[1]!.image.configDescriptor();
    const p = new BlobStore(dir).path(cd.digest);
    await writeFile(p, (await readFile(p, 'utf8')).replace('"arm64"', '"amd64"'));
    const report = await validateLayout(dir, { throwOnProblems: false });
    expect(report.problems.join('\n')).toMatch(/expected digest .* but the bytes hash to/);
  });
});
