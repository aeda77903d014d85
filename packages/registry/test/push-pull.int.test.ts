import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLayout, sha256, validateLayout, writeLayout } from '@scratchpack/oci';
import {
  describeWithTools,
  type FaultProxy,
  freePort,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
  tempDir,
} from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  blobExists,
  ConnectionError,
  headManifest,
  InvalidReferenceError,
  listReferrers,
  pull,
  push,
  RegistryClient,
} from '../src/index.ts';
import { blobCount, skopeo, supplyChain, testIndex } from './images.ts';

describeWithTools(['docker-registry', 'skopeo'], 'push and pull against docker-registry', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let tmp: { path: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    tmp = await tempDir('scratchpack-registry-int-');
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    await tmp?.cleanup();
  });

  const uploads = () =>
    proxy.count('POST', '/blobs/uploads/') + proxy.count('PATCH') + proxy.count('PUT', '/blobs/uploads/');

  it('pushes a multi-platform index: blobs, children by digest, index by digest, then the tag', async () => {
    const index = await testIndex();
    proxy.reset();
    const events: string[] = [];
    const result = await push(index, `${proxy.host}/demo/hello:latest`, {
      tags: ['v1'],
      onProgress: (e) => events.push(e.type === 'tag-done' ? `tag:${e.tag}` : e.type),
    });
    const indexDigest = (await index.digest()).toString();
    expect(result).toMatchObject({
      digest: indexDigest,
      indexDigest,
      uploaded: await blobCount(index),
      skipped: 0,
      mounted: 0,
      tags: ['latest', 'v1'],
      retries: 0,
    });
    expect(result.manifests).toHaveLength(3);
    // Order on the wire: each child after the blobs it names (it starts once they ended), every child before the
    // index, the index before the tags.
    const puts = proxy.requests
      .filter((r) => r.method === 'PUT' && r.path.includes('/manifests/'))
      .map((r) => r.path);
    const blobEnd = (digest: string) =>
      Math.max(
        ...proxy.requests
          .filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.path.includes(digest))
          .map((r) => r.end!),
      );
    for (const { image } of await index.images()) {
      const m = await image.manifest();
      const digest = (await image.digest()).toString();
      const put = proxy.requests.find((r) => r.method === 'PUT' && r.path.endsWith(`/manifests/${digest}`))!;
      for (const d of [m.config.digest, ...m.layers.map((l) => l.digest)])
        expect(put.start).toBeGreaterThanOrEqual(blobEnd(encodeURIComponent(d)));
    }
    const lastBlob = proxy.requests.findLastIndex((r) => r.path.includes('/blobs/'));
    const indexPut = proxy.requests.findIndex(
      (r) => r.method === 'PUT' && r.path.endsWith(`/manifests/${indexDigest}`),
    );
    expect(lastBlob).toBeLessThan(indexPut);
    expect(puts.slice(0, 3).every((p) => result.manifests.some((d) => p.endsWith(d)))).toBe(true);
    expect(puts.slice(3)).toEqual([
      `/v2/demo/hello/manifests/${indexDigest}`,
      '/v2/demo/hello/manifests/latest',
      '/v2/demo/hello/manifests/v1',
    ]);
    expect(events.slice(-4)).toEqual(['manifest-done', 'index-done', 'tag:latest', 'tag:v1']);
  });

  it('skopeo inspect --raw returns the exact index bytes', async () => {
    const index = await testIndex();
    const raw = await skopeo(
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${registry.host}/demo/hello:latest`,
    );
    expect(raw).toBe((await index.rawManifest()).toString('utf8'));
  });

  it('skopeo copy --all gives a layout with identical digests', async () => {
    const index = await testIndex();
    const dir = join(tmp.path, 'skopeo');
    await skopeo(
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://${registry.host}/demo/hello:v1`,
      `oci:${dir}:t`,
    );
    const layout = await readLayout(dir);
    expect((await layout.descriptor('t')).digest).toBe((await index.digest()).toString());
    const expected = new Set([(await index.digest()).toString().slice(7)]);
    for (const { image } of await index.images()) {
      expected.add((await image.digest()).toString().slice(7));
      expected.add((await image.configDescriptor()).digest.slice(7));
      for (const l of await image.layers()) expected.add((await l.digest()).toString().slice(7));
    }
    expect(new Set(await readdir(join(dir, 'blobs', 'sha256')))).toEqual(expected);
  });

  it('pulls back to the same digest, and a single platform as that exact image', async () => {
    const index = await testIndex();
    const dir = join(tmp.path, 'pulled');
    const all = await pull(`${registry.host}/demo/hello:latest`, dir);
    expect(all).toMatchObject({ digest: (await index.digest()).toString(), tag: 'latest', blobsSkipped: 0 });
    expect(all.blobsFetched).toBe(await blobCount(index));
    const layout = await readLayout(dir);
    const back = await layout.resolve('latest');
    expect((await back.digest()).toString()).toBe((await index.digest()).toString());
    const report = await validateLayout(dir, { tag: 'latest' });
    expect(report.problems).toEqual([]);
    const indexJson = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    expect(indexJson.manifests[0].annotations['io.containerd.image.name']).toBe(
      `${registry.host}/demo/hello:latest`,
    );

    const arm = await pull(`${registry.host}/demo/hello:latest`, dir, {
      platform: 'linux/arm/v7',
      tag: 'arm',
    });
    const child = (await index.images()).find((c) => c.descriptor.platform?.architecture === 'arm')!;
    expect(arm).toMatchObject({
      digest: (await child.image.digest()).toString(),
      remoteDigest: (await index.digest()).toString(),
      platform: 'linux/arm/v7',
      blobsFetched: 0,
    });
    await expect((await readLayout(dir)).tags()).resolves.toEqual(['arm', 'latest']);
    await expect(
      pull(`${registry.host}/demo/hello:latest`, dir, { platform: 'linux/s390x' }),
    ).rejects.toMatchObject({
      code: 'PLATFORM_NOT_FOUND',
      hint: expect.stringContaining('linux/arm64/v8'),
    });
  });

  it('a second push uploads no blob', async () => {
    const index = await testIndex();
    proxy.reset();
    const again = await push(index, `${proxy.host}/demo/hello:latest`);
    expect(again).toMatchObject({ uploaded: 0, skipped: await blobCount(index), bytesUploaded: 0 });
    expect(uploads()).toBe(0);
    // The index and its images are there: no blob is asked for, only the tag is put again.
    expect(proxy.count('HEAD', '/manifests/')).toBe(1 + (await index.images()).length);
    expect(proxy.count('HEAD', '/blobs/')).toBe(0);
    expect(proxy.count('PUT', '/manifests/')).toBe(1);
  });

  it('pushes referrers with the image: each after its blobs and its subject, fallback tags after them, tags last; a repeat uploads nothing', async () => {
    const index = await testIndex({ salt: 'supply-chain' });
    const all = await supplyChain(index);
    const signature = all.at(-1)!;
    const signed = all[0]!;
    const artifactBlobs = new Set(all.flatMap((a) => a.blobs.map((b) => b.descriptor.digest))).size;
    proxy.reset();
    const repo = `${proxy.host}/demo/supply`;
    const result = await push(index, `${repo}:latest`, { referrers: all, concurrency: 6 });
    expect(result).toMatchObject({ uploaded: (await blobCount(index)) + artifactBlobs, skipped: 0 });
    const paths = proxy.requests.map((r) => `${r.method} ${r.path}`);
    const at = (needle: string) => paths.indexOf(`PUT /v2/demo/supply/manifests/${needle}`);
    const lastBlob = proxy.requests.findLastIndex((r) => r.path.includes('/blobs/'));
    expect(lastBlob).toBeLessThan(at('latest'));
    // Each referrer starts once the uploads of its blobs ended.
    const blobEnd = (digest: string) =>
      Math.max(
        ...proxy.requests
          .filter((r) => r.method === 'PUT' && r.path.includes(`digest=${encodeURIComponent(digest)}`))
          .map((r) => r.end!),
      );
    for (const a of all) {
      const put = proxy.requests.find(
        (r) => r.method === 'PUT' && r.path.endsWith(`/manifests/${a.descriptor.digest}`),
      )!;
      for (const b of a.blobs) expect(put.start).toBeGreaterThanOrEqual(blobEnd(b.descriptor.digest));
    }
    for (const a of all) {
      // After its subject (beside the other platforms' manifests, not behind the index); the subject's fallback
      // tag (docker-registry has no referrers API) after it.
      expect(at(a.descriptor.digest)).toBeGreaterThan(at(a.manifest.subject!.digest));
      expect(at(`sha256-${a.manifest.subject!.digest.slice(7)}`)).toBeGreaterThan(at(a.descriptor.digest));
      expect(at('latest')).toBeGreaterThan(at(`sha256-${a.manifest.subject!.digest.slice(7)}`));
    }
    const client = await RegistryClient.create(proxy.host, { credential: null });
    try {
      for (const { image } of await index.images()) {
        const listed = await listReferrers(client, 'demo/supply', (await image.digest()).toString(), [
          'repository:demo/supply:pull',
        ]);
        expect(listed.via).toBe('tag');
        expect(listed.descriptors).toHaveLength(3);
      }
      const sigs = await listReferrers(client, 'demo/supply', signed.descriptor.digest, [
        'repository:demo/supply:pull',
      ]);
      expect(sigs.descriptors.map((d) => d.digest)).toEqual([signature.descriptor.digest]);
    } finally {
      await client.close();
    }
    proxy.reset();
    const again = await push(index, `${repo}:latest`, { referrers: all });
    expect(again).toMatchObject({ uploaded: 0, skipped: (await blobCount(index)) + artifactBlobs });
    expect(uploads()).toBe(0);
    // Fallback tags already list every referrer: read, not written again.
    expect(proxy.count('PUT', '/manifests/sha256-')).toBe(0);
  });

  it('holds large uploads to `concurrency` while small blobs go beside them', async () => {
    const index = await testIndex({
      salt: 'limits',
      bigLayerBytes: 2 * 1024 * 1024,
      bigOn: ['amd64', 'arm64', 'arm'],
    });
    proxy.reset();
    const result = await push(index, `${proxy.host}/demo/limits:latest`, { concurrency: 1 });
    expect(result.uploaded).toBe(await blobCount(index));
    const large = (r: { method: string; path: string; length: number }) =>
      r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.length > 1024 * 1024;
    expect(proxy.count('PUT', '/blobs/uploads/')).toBe(result.uploaded);
    expect(proxy.requests.filter(large)).toHaveLength(3);
    expect(proxy.peakInFlight(large)).toBe(1);
    // The small ones (configs, the shared layer) are not queued behind the large ones.
    expect(proxy.peakInFlight((r) => r.path.includes('/blobs/'))).toBeGreaterThan(1);
  });

  it('mounts every blob when pushing to a second repository with `from`', async () => {
    const index = await testIndex();
    proxy.reset();
    const result = await push(index, `${proxy.host}/other/copy:latest`, { from: 'demo/hello' });
    expect(result).toMatchObject({ mounted: await blobCount(index), uploaded: 0 });
    expect(proxy.count('POST', /mount=sha256/)).toBe(await blobCount(index));
    expect(proxy.count('PATCH') + proxy.count('PUT', '/blobs/uploads/')).toBe(0);
    // a `from` that lacks the blobs falls back to uploading
    const fresh = await testIndex({ salt: 'mount-fallback' });
    const fallback = await push(fresh, `${proxy.host}/other/fresh:latest`, { from: 'does/not-exist' });
    expect(fallback.mounted).toBe(0);
    expect(fallback.uploaded).toBe(await blobCount(fresh));
  });

  it('uploads in chunks: PATCHes with Content-Range, last bytes in the PUT', async () => {
    const index = await testIndex({ salt: 'chunked', bigLayerBytes: 100_000 });
    proxy.reset();
    const result = await push(index, `${proxy.host}/demo/chunked:latest`, {
      chunkSize: 16 * 1024,
      monolithicThreshold: 32 * 1024,
    });
    const big = result.blobs.find((b) => b.size > 32 * 1024)!;
    expect(big).toBeDefined();
    expect(proxy.count('PATCH')).toBe(Math.ceil(big.size / (16 * 1024)) - 1);
    const dir = join(tmp.path, 'chunked');
    const back = await pull(`${registry.host}/demo/chunked:latest`, dir);
    expect(back.digest).toBe((await index.digest()).toString());
    const bytes = await readFile(join(dir, 'blobs', 'sha256', big.digest.slice(7)));
    expect(sha256(bytes).toString()).toBe(big.digest);
  });

  it('pushes a single image and reads its manifest back with HEAD', async () => {
    const index = await testIndex({ salt: 'single' });
    const image = (await index.images())[0]!.image;
    const result = await push(image, `${registry.host}/demo/single:one`);
    expect(result.indexDigest).toBeUndefined();
    const client = await RegistryClient.create(registry.host, { credential: null });
    const head = await headManifest(client, 'demo/single', 'one', ['repository:demo/single:pull']);
    expect(head).toEqual({
      digest: (await image.digest()).toString(),
      mediaType: image.mediaType(),
      size: await image.size(),
    });
    expect(
      await headManifest(client, 'demo/single', 'nope', ['repository:demo/single:pull']),
    ).toBeUndefined();
    await client.close();
  });

  it('a layout layer larger than the reused buffers goes out intact (the registry checks its digest)', async () => {
    // 6 MB of random bytes: more chunks than the four 1 MiB buffers they are read into in turn.
    const index = await testIndex({ salt: 'ring', bigLayerBytes: 6_000_000 });
    const dir = join(tmp.path, 'ring');
    await writeLayout(dir, index, { tags: ['latest'] });
    const subject = await (await readLayout(dir)).resolve('latest');
    const result = await push(subject, `${registry.host}/demo/ring:latest`);
    expect(result).toMatchObject({ uploaded: await blobCount(index), skipped: 0 });
    expect(Math.max(...result.blobs.map((b) => b.size))).toBeGreaterThan(5 * 1024 * 1024);
  });

  it('a layout layer changed on disk fails the push before its last byte is sent: no blob, no tag', async () => {
    const index = await testIndex({ salt: 'changed', bigLayerBytes: 3_000_000 });
    const dir = join(tmp.path, 'changed');
    await writeLayout(dir, index, { tags: ['latest'] });
    // The largest layer (three 1 MiB chunks and more), one byte changed near its end: same size, other digest.
    const big = (await index.images())[0]!.image;
    const layer = (await big.manifest()).layers.sort((a, b) => b.size - a.size)[0]!;
    const file = join(dir, 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
    const bytes = await readFile(file);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10]! + 1) % 256;
    await writeFile(file, bytes);

    const subject = await (await readLayout(dir)).resolve('latest');
    await expect(push(subject, `${registry.host}/demo/changed:latest`)).rejects.toMatchObject({
      code: 'OCI_DIGEST_MISMATCH',
    });
    const client = await RegistryClient.create(registry.host, { credential: null });
    const scopes = ['repository:demo/changed:pull'];
    expect(await blobExists(client, 'demo/changed', layer.digest, scopes)).toBe(false);
    expect(await headManifest(client, 'demo/changed', 'latest', scopes)).toBeUndefined();
    await client.close();
  });

  it('fails fast and clearly on a closed port and on a bad reference', async () => {
    const port = await freePort();
    const index = await testIndex();
    const started = Date.now();
    const err = await push(index, `127.0.0.1:${port}/x:latest`).catch((e) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({
      code: 'CONNECTION_REFUSED',
      hint: `is the registry running at http://127.0.0.1:${port}?`,
    });
    expect(elapsed).toBeLessThan(10_000);
    console.log(`closed port: ConnectionError after ${elapsed} ms (default retry policy)`);

    await expect(push(index, `${registry.host}/Demo/Hello`)).rejects.toBeInstanceOf(InvalidReferenceError);
    await expect(pull('ghcr.io/x:bad tag', tmp.path)).rejects.toMatchObject({ code: 'REFERENCE_INVALID' });
  });
});
