/** An archive's index.json lists each image once (what containers/image needs); the rest travels as a blob. */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ARCHIVE_INDEX,
  appendLayers,
  artifact,
  type Image,
  ImageStore,
  imageIndex,
  layerFromEntries,
  layoutReferrers,
  loadArchive,
  platformTag,
  scratch,
  sha256,
  validateLayout,
  withConfig,
  withPlatform,
  writeArchive,
  writeLayout,
  writePlatformTags,
  writeReferrers,
} from '../src/index.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('oci-archive-index-'));
});
afterEach(() => cleanup());

async function image(architecture: string): Promise<Image> {
  const l = layerFromEntries([{ type: 'file', path: 'hello', content: architecture, mode: 0o755 }]);
  return withPlatform(await withConfig(await appendLayers(scratch, { layer: l }), { Cmd: ['/hello'] }), {
    os: 'linux',
    architecture,
  });
}

const sbomFor = (subject: { mediaType: string; digest: string; size: number }, text: string) =>
  artifact({
    artifactType: 'application/spdx+json',
    subject,
    layers: [{ mediaType: 'application/spdx+json', bytes: Buffer.from(text) }],
    annotations: { 'org.opencontainers.image.created': '1970-01-01T00:00:00Z' },
  });

/** A layout of a two-platform index tagged 0.1.0 and latest, with an SBOM of the index and one of a child. */
async function layoutWithReferrers(layout: string) {
  const idx = imageIndex([{ image: await image('amd64') }, { image: await image('arm64') }]);
  await writeLayout(layout, idx, { tags: ['0.1.0', 'latest'], imageName: 'example.test/hello' });
  const subject = {
    mediaType: idx.mediaType(),
    digest: (await idx.digest()).toString(),
    size: await idx.size(),
  };
  const child = (await idx.indexManifest()).manifests[1]!;
  const sboms = [
    await sbomFor(subject, 'index sbom'),
    await sbomFor({ mediaType: child.mediaType, digest: child.digest, size: child.size }, 'arm64 sbom'),
  ];
  await writeReferrers(layout, sboms);
  return { subject, sboms };
}

const untar = async (file: string) => {
  const out = join(dir, 'x');
  await mkdir(out, { recursive: true });
  execFileSync('tar', ['-xf', file, '-C', out]);
  return out;
};

describe('archive index.json', () => {
  it('has ONE entry, the index named by its latest tag; the full index is a blob it points to', async () => {
    const layout = join(dir, 'oci');
    const { subject, sboms } = await layoutWithReferrers(layout);
    const file = join(dir, 'hello.oci.tar');
    await writeArchive(layout, file);
    const x = await untar(file);
    const index = JSON.parse(await readFile(join(x, 'index.json'), 'utf8'));
    expect(index.manifests).toEqual([
      {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        digest: subject.digest,
        size: subject.size,
        annotations: {
          'io.containerd.image.name': 'example.test/hello:latest',
          'org.opencontainers.image.ref.name': 'latest',
        },
      },
    ]);
    const fullDigest = index.annotations[ARCHIVE_INDEX];
    const fullBytes = await readFile(join(x, 'blobs', 'sha256', fullDigest.slice(7)));
    expect(sha256(fullBytes).toString()).toBe(fullDigest);
    const full = JSON.parse(fullBytes.toString());
    expect(full.manifests.map((m: { digest: string }) => m.digest).sort()).toEqual(
      [subject.digest, subject.digest, ...sboms.map((s) => s.descriptor.digest)].sort(),
    );
    expect((await validateLayout(x)).problems).toEqual([]);
    // Docker's manifest.json still names both tags.
    const docker = JSON.parse(await readFile(join(x, 'manifest.json'), 'utf8'));
    expect(docker[0].RepoTags).toEqual(['example.test/hello:0.1.0', 'example.test/hello:latest']);
    // Same inputs, same bytes.
    await writeArchive(layout, join(dir, 'again.oci.tar'));
    expect((await readFile(join(dir, 'again.oci.tar'))).equals(await readFile(file))).toBe(true);
  });

  it('without referrers or extra names, index.json is complete and has no pointer', async () => {
    const layout = join(dir, 'plain');
    await writeLayout(layout, await image('amd64'), { tags: ['1.0'] });
    await writeArchive(layout, join(dir, 'plain.tar'), { imageName: 'example.test/plain' });
    const x = await untar(join(dir, 'plain.tar'));
    const index = JSON.parse(await readFile(join(x, 'index.json'), 'utf8'));
    expect(index.annotations).toBeUndefined();
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations['io.containerd.image.name']).toBe('example.test/plain:1.0');
  });

  it('per-platform tags (writePlatformTags) stay in the layout and the full index; index.json lists the index', async () => {
    const layout = join(dir, 'tags');
    const idx = imageIndex([{ image: await image('amd64') }, { image: await image('arm64') }]);
    await writeLayout(layout, idx, { tags: ['latest'] });
    expect(await writePlatformTags(layout, idx, ['latest'])).toEqual([
      'latest-linux-amd64',
      'latest-linux-arm64',
    ]);
    const entries = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')).manifests;
    expect(entries.map((e: { platform?: { architecture: string } }) => e.platform?.architecture)).toEqual([
      undefined,
      'amd64',
      'arm64',
    ]);
    expect((await validateLayout(layout, { tag: 'latest-linux-arm64' })).problems).toEqual([]);
    await writeArchive(layout, join(dir, 'tags.tar'));
    const x = await untar(join(dir, 'tags.tar'));
    const index = JSON.parse(await readFile(join(x, 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { digest: string }) => m.digest)).toEqual([
      (await idx.digest()).toString(),
    ]);
    const full = JSON.parse(
      await readFile(join(x, 'blobs', 'sha256', index.annotations[ARCHIVE_INDEX].slice(7)), 'utf8'),
    );
    expect(full.manifests).toHaveLength(3);
    expect(platformTag('v1', { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('v1-linux-arm-v7');
    expect(platformTag('v1', { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe('v1-linux-arm64');
  });

  it('load restores every name and every referrer from the full index', async () => {
    const layout = join(dir, 'oci');
    const { subject, sboms } = await layoutWithReferrers(layout);
    const file = join(dir, 'hello.oci.tar');
    await writeArchive(layout, file);
    const store = new ImageStore(join(dir, 'store'));
    const r = await loadArchive(store, createReadStream(file), { source: file });
    expect(r.names.sort()).toEqual(['example.test/hello:0.1.0', 'example.test/hello:latest']);
    expect((await store.find('example.test/hello:0.1.0')).descriptor.digest).toBe(subject.digest);
    const child = (await layoutReferrers(store.dir, sboms[1]!.manifest.subject!.digest)).map((d) => d.digest);
    expect(child).toEqual([sboms[1]!.descriptor.digest]);
    expect((await layoutReferrers(store.dir, subject.digest)).map((d) => d.digest)).toEqual([
      sboms[0]!.descriptor.digest,
    ]);
  });

  it('load refuses an archive whose index.json points to a full index that is not there', async () => {
    const layout = join(dir, 'oci');
    await layoutWithReferrers(layout);
    await writeArchive(layout, join(dir, 'a.tar'));
    const x = await untar(join(dir, 'a.tar'));
    const index = JSON.parse(await readFile(join(x, 'index.json'), 'utf8'));
    execFileSync('rm', [join(x, 'blobs', 'sha256', index.annotations[ARCHIVE_INDEX].slice(7))]);
    execFileSync('tar', ['-cf', join(dir, 'broken.tar'), '-C', x, '.']);
    const store = new ImageStore(join(dir, 'store'));
    await expect(
      loadArchive(store, createReadStream(join(dir, 'broken.tar')), { source: 'broken.tar' }),
    ).rejects.toMatchObject({ code: 'STORE_INVALID_ARCHIVE', message: expect.stringMatching(/full index/) });
  });
});
