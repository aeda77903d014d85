/** The pipeline on a tiny FROM scratch context, and the publishers: layout, archive, multi. */
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layerFiles, readLayerFiles, readLayout, validateLayout } from '@scratchpack/oci';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archivePublisher,
  BuildInputError,
  type BuildResult,
  build,
  layoutPublisher,
  multi,
  pickImage,
} from '../src/index.ts';

let dir: string;
let result: BuildResult;
const platforms = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'builder-test-'));
  for (const label of ['linux-amd64', 'linux-arm64-v8']) {
    await mkdir(join(dir, 'ctx', label), { recursive: true });
    await writeFile(join(dir, 'ctx', label, 'prog'), `#!/bin/sh\necho ${label}\n`, { mode: 0o755 });
  }
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY prog /\nCMD ["/prog"]\n');
  result = await build({
    context: 'ctx/{label}',
    file: 'Dockerfile',
    cwd: dir,
    platforms,
    tags: ['latest'],
    sourceDateEpoch: 0,
    attest: { sbom: true, provenance: true },
  });
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('build', () => {
  it('makes one image per platform, in platform order, and their referrers, and writes nothing', async () => {
    expect(result.images.map((i) => i.platform)).toEqual(platforms);
    expect((await result.index.digest()).toString()).toBe(result.indexDigest);
    expect(result.referrers).toHaveLength(3 * platforms.length);
    const { platform } = await pickImage(result.index, 'linux/arm64', 'the index');
    expect(platform.architecture).toBe('arm64');
  });

  it('lists in the SBOM the files hashed while the layer was packed, the same as reading the layer back', async () => {
    const { image } = await pickImage(result.index, 'linux/amd64', 'the index');
    const [layer] = await image.layers();
    // Packed with its files hashed (so no second read of the layer), and those digests are the layer's.
    expect(layer!.files).toBeTypeOf('function');
    const read = await readLayerFiles(layer!);
    expect(await layerFiles(layer!)).toEqual(read);
    expect(read.map((f) => f.path)).toEqual(['prog']);
    const digest = (await image.digest()).toString();
    const spdx = result.referrers.find(
      (r) => r.manifest.artifactType === 'application/spdx+json' && r.manifest.subject?.digest === digest,
    );
    const doc = JSON.parse(spdx!.blobs[1]!.bytes.toString());
    expect(doc.files).toContainEqual(
      expect.objectContaining({
        fileName: './prog',
        checksums: [
          { algorithm: 'SHA1', checksumValue: read[0]!.sha1 },
          { algorithm: 'SHA256', checksumValue: read[0]!.sha256 },
        ],
      }),
    );
    // Built without a name: the image's purl says where it is not (no repository_url), only what it is.
    expect(doc.packages[0].externalRefs[0].referenceLocator).toBe(
      `pkg:oci/image@${encodeURIComponent(digest)}?arch=amd64&os=linux`,
    );
  });

  it('says which Dockerfile is missing, as an input error', async () => {
    const err = await build({
      context: 'ctx/{label}',
      cwd: dir,
      platforms,
      concurrency: 1, // the first platform fails first
      tags: [],
      sourceDateEpoch: 0,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildInputError);
    expect((err as BuildInputError).code).toBe('USAGE');
    expect((err as Error).message).toMatch(/^no Dockerfile at .*ctx\/linux-amd64\/Dockerfile$/);
  });
});

describe('publishers', () => {
  it('multi writes a layout, then an archive from it, byte for byte the archive of a layout of its own', async () => {
    const layout = join(dir, 'out', 'oci');
    const withLayout = join(dir, 'out', 'a.oci.tar');
    const alone = join(dir, 'out', 'b.oci.tar');
    const o = { tags: ['latest', '1.0'], referrers: result.referrers, sourceDateEpoch: 0 };
    const published = await multi(layoutPublisher(layout), archivePublisher(withLayout, { layout })).publish(
      result.index,
      o,
    );
    expect(published).toEqual([
      { kind: 'layout', dest: layout },
      { kind: 'archive', dest: withLayout },
    ]);
    await archivePublisher(alone).publish(result.index, o);
    expect(await readFile(withLayout)).toEqual(await readFile(alone));
    const l = await readLayout(layout);
    expect((await (await l.resolve('1.0')).digest()).toString()).toBe(result.indexDigest);
    expect((await validateLayout(layout)).problems).toEqual([]);
  });

  it('stops before writing when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(
      layoutPublisher(join(dir, 'never')).publish(result.index, { tags: [], signal: ac.signal }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
