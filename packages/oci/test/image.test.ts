import { describe, expect, it } from 'vitest';
import {
  appendHistory,
  appendLayers,
  emptyImage,
  type Image,
  imageForPlatform,
  imageIndex,
  layerFromEntries,
  MediaTypes,
  scratch,
  sha256,
  validateImage,
  validateIndex,
  withAnnotations,
  withConfig,
  withCreated,
  withMediaTypeFamily,
  withPlatform,
} from '../src/index.ts';

const layer = () => layerFromEntries([{ type: 'file', path: 'hello', content: 'hi', mode: 0o755 }]);

async function hello(platform = 'linux/amd64'): Promise<Image> {
  const [os, architecture, variant] = platform.split('/') as [string, string, string?];
  let img = await appendLayers(scratch, {
    layer: layer(),
    history: { created_by: 'COPY hello / # buildkit', comment: 'buildkit.dockerfile.v0' },
  });
  img = await withConfig(img, { Cmd: ['/hello'], Env: ['PATH=/'] });
  return withPlatform(img, variant ? { os, architecture, variant } : { os, architecture });
}

describe('scratch and images', () => {
  it('scratch is an empty OCI image with a reproducible created', async () => {
    expect(scratch.mediaType()).toBe(MediaTypes.ociManifest);
    expect(await scratch.layers()).toEqual([]);
    expect((await scratch.rawConfig()).toString()).toBe(
      '{"created":"1970-01-01T00:00:00Z","architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}',
    );
    const m = await scratch.manifest();
    expect(m.layers).toEqual([]);
    expect(m.config.digest).toBe(sha256(await scratch.rawConfig()).toString());
  });

  it('builds the exact config JSON (key order, RFC 3339, diff_ids, history)', async () => {
    const img = await hello('linux/arm64');
    const l = (await img.layers())[0]!;
    expect(JSON.parse((await img.rawConfig()).toString())).toEqual({
      created: '1970-01-01T00:00:00Z',
      architecture: 'arm64',
      os: 'linux',
      variant: 'v8',
      config: { Env: ['PATH=/'], Cmd: ['/hello'] },
      rootfs: { type: 'layers', diff_ids: [(await l.diffId()).toString()] },
      history: [
        {
          created: '1970-01-01T00:00:00Z',
          created_by: 'COPY hello / # buildkit',
          comment: 'buildkit.dockerfile.v0',
        },
      ],
    });
    expect(Object.keys(JSON.parse((await img.rawConfig()).toString()))).toEqual([
      'created',
      'architecture',
      'os',
      'variant',
      'config',
      'rootfs',
      'history',
    ]);
    const m = await img.manifest();
    expect(m.layers).toEqual([
      { mediaType: MediaTypes.ociLayerGzip, digest: (await l.digest()).toString(), size: await l.size() },
    ]);
    expect((await img.digest()).equals(sha256(await img.rawManifest()))).toBe(true);
    await validateImage(img);
  });

  it('mutations return new images and leave the input untouched', async () => {
    const a = await hello();
    const before = (await a.digest()).toString();
    const b = await withConfig(a, { User: '65534', Cmd: undefined });
    const c = await withAnnotations(b, { 'org.opencontainers.image.source': 'https://example.com' });
    expect((await a.digest()).toString()).toBe(before);
    expect((await a.configFile()).config.Cmd).toEqual(['/hello']);
    expect((await b.configFile()).config).toEqual({ Env: ['PATH=/'], User: '65534' });
    expect((await c.manifest()).annotations).toEqual({
      'org.opencontainers.image.source': 'https://example.com',
    });
    expect((await c.rawConfig()).equals(await b.rawConfig())).toBe(true);
  });

  it('withCreated sets created (and history with {history: true}); appendHistory adds empty_layer entries', async () => {
    let img = await hello();
    img = await appendHistory(img, { created_by: 'CMD ["/hello"]' });
    img = await withCreated(img, 1700000000, { history: true });
    const cf = await img.configFile();
    expect(cf.created).toBe('2023-11-14T22:13:20Z');
    expect(cf.history?.map((h) => [h.created, h.empty_layer ?? false])).toEqual([
      ['2023-11-14T22:13:20Z', false],
      ['2023-11-14T22:13:20Z', true],
    ]);
    await validateImage(img);
  });

  it('converts media type families without mixing and without touching layer bytes', async () => {
    const oci = await hello();
    const docker = await withMediaTypeFamily(oci, 'docker');
    const m = await docker.manifest();
    expect(docker.mediaType()).toBe(MediaTypes.dockerManifest);
    expect(m.mediaType).toBe(MediaTypes.dockerManifest);
    expect(m.config.mediaType).toBe(MediaTypes.dockerConfig);
    expect(m.layers.map((l) => l.mediaType)).toEqual([MediaTypes.dockerLayerGzip]);
    expect(m.layers[0]!.digest).toBe((await oci.manifest()).layers[0]!.digest);
    expect((await docker.rawConfig()).equals(await oci.rawConfig())).toBe(true);
    expect(await withMediaTypeFamily(oci, 'oci')).toBe(oci);
    const back = await withMediaTypeFamily(docker, 'oci');
    expect((await back.digest()).equals(await oci.digest())).toBe(true);
    await validateImage(docker);
  });

  it('Docker schema 2 manifests and lists carry no annotations (the schema has none)', async () => {
    const oci = await withAnnotations(await hello(), {
      'org.opencontainers.image.created': '1970-01-01T00:00:00Z',
    });
    expect((await oci.manifest()).annotations).toEqual({
      'org.opencontainers.image.created': '1970-01-01T00:00:00Z',
    });
    const docker = await withMediaTypeFamily(oci, 'docker');
    expect((await docker.rawManifest()).toString()).not.toContain('annotations');
    const list = imageIndex([{ image: docker, annotations: { a: 'b' } }], {
      family: 'docker',
      annotations: { c: 'd' },
    });
    expect((await list.rawManifest()).toString()).not.toContain('annotations');
    const ociIndex = imageIndex([{ image: oci, annotations: { a: 'b' } }], { annotations: { c: 'd' } });
    const raw = JSON.parse((await ociIndex.rawManifest()).toString());
    expect([raw.annotations, raw.manifests[0].annotations]).toEqual([{ c: 'd' }, { a: 'b' }]);
  });

  it('is deterministic: same inputs → same manifest digest', async () => {
    expect((await (await hello()).digest()).equals(await (await hello()).digest())).toBe(true);
  });
});

describe('imageIndex', () => {
  it('derives each platform from the config and lists children in order', async () => {
    const idx = imageIndex(
      [
        { image: await hello('linux/amd64') },
        { image: await hello('linux/arm64') },
        { image: await hello('linux/arm/v6') },
      ],
      {
        annotations: { 'org.opencontainers.image.created': '1970-01-01T00:00:00Z' },
      },
    );
    const im = await idx.indexManifest();
    expect(im.mediaType).toBe(MediaTypes.ociIndex);
    expect(im.manifests.map((m) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
      { architecture: 'arm', os: 'linux', variant: 'v6' },
    ]);
    expect(im.annotations).toEqual({ 'org.opencontainers.image.created': '1970-01-01T00:00:00Z' });
    const arm = await imageForPlatform(idx, 'linux/arm64');
    expect((await arm!.configFile()).architecture).toBe('arm64');
    expect(await imageForPlatform(idx, 'linux/s390x')).toBeUndefined();
    const r = await validateIndex(idx);
    expect(r.problems).toEqual([]);
    expect(r.checked).toBe(1 + 3 * 3);
  });

  it('refuses a platform that differs from the config, duplicates, no platform, and mixed families', async () => {
    await expect(
      imageIndex([
        { image: await hello('linux/amd64'), platform: { os: 'linux', architecture: 'arm64' } },
      ]).rawManifest(),
    ).rejects.toMatchObject({
      code: 'OCI_PLATFORM_MISMATCH',
      message: expect.stringContaining('platform linux/arm64/v8 differs from the image config'),
    });
    await expect(
      imageIndex([{ image: await hello() }, { image: await hello() }]).rawManifest(),
    ).rejects.toThrow(/both have platform linux\/amd64/);
    await expect(imageIndex([{ image: scratch }]).rawManifest()).rejects.toThrow(/no os\/architecture/);
    const docker = await withMediaTypeFamily(await hello(), 'docker');
    await expect(imageIndex([{ image: docker }], { family: 'oci' }).rawManifest()).rejects.toMatchObject({
      code: 'OCI_MEDIA_TYPE',
    });
    const list = imageIndex([{ image: docker }], { family: 'docker' });
    expect((await list.indexManifest()).mediaType).toBe(MediaTypes.dockerManifestList);
  });

  it('emptyImage takes a platform and family', async () => {
    const e = emptyImage({
      platform: { os: 'linux', architecture: 'aarch64' },
      family: 'docker',
      sourceDateEpoch: 86400,
    });
    const cf = await e.configFile();
    expect([cf.os, cf.architecture, cf.variant, cf.created]).toEqual([
      'linux',
      'arm64',
      'v8',
      '1970-01-02T00:00:00Z',
    ]);
    expect(e.mediaType()).toBe(MediaTypes.dockerManifest);
  });
});
