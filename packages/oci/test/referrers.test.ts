import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendLayers,
  artifact,
  EMPTY_DESCRIPTOR,
  type Image,
  imageIndex,
  layerFromEntries,
  layoutReferrers,
  layoutReferrersOf,
  loadArtifact,
  readLayout,
  referrersTag,
  scratch,
  sha256,
  validateLayout,
  withConfig,
  withPlatform,
  writeArchive,
  writeLayout,
  writeReferrers,
} from '../src/index.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('oci-referrers-'));
});
afterEach(() => cleanup());

async function image(architecture: string, content = 'hi'): Promise<Image> {
  const l = layerFromEntries([{ type: 'file', path: 'hello', content, mode: 0o755 }]);
  return withPlatform(await withConfig(await appendLayers(scratch, { layer: l }), { Cmd: ['/hello'] }), {
    os: 'linux',
    architecture,
  });
}

const sbomFor = async (img: Image, text: string) =>
  artifact({
    artifactType: 'application/spdx+json',
    subject: { mediaType: img.mediaType(), digest: (await img.digest()).toString(), size: await img.size() },
    layers: [{ mediaType: 'application/spdx+json', bytes: Buffer.from(text) }],
    annotations: { 'org.opencontainers.image.created': '1970-01-01T00:00:00Z' },
  });

describe('referrers', () => {
  it('the empty descriptor is the digest and size of {}', () => {
    expect(sha256(Buffer.from('{}')).toString()).toBe(EMPTY_DESCRIPTOR.digest);
    expect(EMPTY_DESCRIPTOR.size).toBe(2);
  });

  it('an artifact manifest has artifactType, the empty config and a subject', async () => {
    const img = await image('amd64');
    const a = await sbomFor(img, '{"a":1}');
    const m = JSON.parse(a.raw.toString());
    expect(m.artifactType).toBe('application/spdx+json');
    expect(m.config).toEqual(EMPTY_DESCRIPTOR);
    expect(m.subject).toEqual({
      mediaType: img.mediaType(),
      digest: (await img.digest()).toString(),
      size: await img.size(),
    });
    expect(a.descriptor).toMatchObject({
      digest: sha256(a.raw).toString(),
      artifactType: 'application/spdx+json',
    });
    expect(a.descriptor.annotations).toEqual(m.annotations);
    expect(referrersTag(a.descriptor.digest)).toBe(`sha256-${a.descriptor.digest.slice(7)}`);
  });

  it('layoutReferrersOf: referrers of several subjects and of those, breadth first, each once', async () => {
    const amd = await image('amd64');
    const arm = await image('arm64', 'other');
    const idx = imageIndex([{ image: amd }, { image: arm }]);
    await writeLayout(dir, idx, { tags: ['latest'] });
    const a1 = await sbomFor(amd, 'one');
    const a2 = await sbomFor(arm, 'two');
    const sig = artifact({
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      subject: { mediaType: a1.descriptor.mediaType, digest: a1.descriptor.digest, size: a1.descriptor.size },
      layers: [{ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', bytes: Buffer.from('sig') }],
    });
    await writeReferrers(dir, [sig, a2, a1]);
    const [amdDigest, armDigest] = [(await amd.digest()).toString(), (await arm.digest()).toString()];
    const found = await layoutReferrersOf(dir, [
      (await idx.digest()).toString(),
      amdDigest,
      armDigest,
      amdDigest,
    ]);
    expect(found.map((f) => [f.subject, f.descriptor.digest])).toEqual([
      [amdDigest, a1.descriptor.digest],
      [armDigest, a2.descriptor.digest],
      [a1.descriptor.digest, sig.descriptor.digest],
    ]);
    expect(await layoutReferrersOf(dir, [`sha256:${'0'.repeat(64)}`])).toEqual([]);
  });

  it('live beside the image as untagged entries; the image index and tag lookup are unchanged', async () => {
    const amd = await image('amd64');
    const arm = await image('arm64', 'other');
    const idx = imageIndex([{ image: amd }, { image: arm }]);
    await writeLayout(dir, idx, { tags: ['latest'] });
    const before = await readFile(join(dir, 'index.json'), 'utf8');
    const a1 = await sbomFor(amd, 'one');
    const a2 = await sbomFor(arm, 'two');
    await writeReferrers(dir, [a1, a2]);
    await writeReferrers(dir, [a1]); // idempotent
    // Another document of the same type and subject is added beside it, or replaces it with `replace`.
    const a1b = await sbomFor(amd, 'one, rebuilt');
    await writeReferrers(dir, [a1b]);
    expect((await layoutReferrers(dir, (await amd.digest()).toString())).map((d) => d.digest)).toEqual([
      a1.descriptor.digest,
      a1b.descriptor.digest,
    ]);
    await writeReferrers(dir, [a1], { replace: true });
    const after = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    expect(after.manifests.map((m: { digest: string }) => m.digest)).toEqual([
      a1.descriptor.digest,
      a2.descriptor.digest,
      JSON.parse(before).manifests[0].digest,
    ]);
    const layout = await readLayout(dir);
    expect((await layout.descriptor()).digest).toBe((await idx.digest()).toString());
    expect((await layoutReferrers(dir, (await amd.digest()).toString())).map((d) => d.digest)).toEqual([
      a1.descriptor.digest,
    ]);
    expect(await layoutReferrers(dir, (await amd.digest()).toString(), 'other/type')).toEqual([]);
    const loaded = await loadArtifact(layout.blobs, a2.descriptor);
    expect(loaded.blobs[1]!.bytes.toString()).toBe('two');
    expect((await validateLayout(dir)).problems).toEqual([]);
    // Rebuilding the index with other content drops the referrers of subjects no longer in the layout.
    const idx2 = imageIndex([{ image: await image('amd64', 'new') }]);
    await writeLayout(dir, idx2, { tags: ['latest'] });
    await writeReferrers(dir, []);
    const pruned = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    expect(pruned.manifests).toHaveLength(1);
  });

  it('an archive carries the referrers but lists only images in manifest.json', async () => {
    const amd = await image('amd64');
    await writeLayout(dir, imageIndex([{ image: amd }]), { tags: ['latest'] });
    const a = await sbomFor(amd, 'sbom');
    await writeReferrers(dir, [a]);
    const file = join(dir, 'out.tar');
    await writeArchive(dir, file);
    const tar = await readFile(file);
    expect(tar.includes(Buffer.from(`blobs/sha256/${a.descriptor.digest.slice(7)}`))).toBe(true);
    expect(tar.includes(Buffer.from('"RepoTags"'))).toBe(true);
    expect(tar.toString('latin1').match(/"Config":/g)).toHaveLength(1);
  });

  it('validateLayout reports a referrer whose blob was changed', async () => {
    const amd = await image('amd64');
    await writeLayout(dir, imageIndex([{ image: amd }]), { tags: ['latest'] });
    const a = await sbomFor(amd, 'sbom');
    await writeReferrers(dir, [a]);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'blobs', 'sha256', a.blobs[1]!.descriptor.digest.slice(7)), 'sbom!');
    const report = await validateLayout(dir, { throwOnProblems: false });
    expect(report.problems.join('\n')).toMatch(/blob sha256:/);
  });
});
