/**
 * What a push asks the registry, request by request, against Debian's docker-registry behind the fault proxy (which
 * counts): a first push into a new repository sends no HEAD for a small blob and reads no fallback tag; a repeat
 * uploads nothing and reads each fallback tag once (GET, no HEAD first); fallback tags keep referrers another
 * client put there; a repository known only by a manifest pushed by digest is not taken for a new one.
 */
import { artifact, type ImageIndex } from '@scratchpack/oci';
import {
  describeWithTools,
  type FaultProxy,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
} from '@scratchpack/test-utils';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { listReferrers, type PushOptions, push, pushReferrers, RegistryClient } from '../src/index.ts';
import { blobCount, supplyChain, testIndex } from './images.ts';

describeWithTools(['docker-registry'], 'the requests of a push', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  beforeEach(() => proxy.reset());

  const options: PushOptions = { credential: null };
  const uploads = () => proxy.count('POST', '/blobs/uploads/');
  const subjects = (artifacts: { manifest: { subject?: { digest: string } } }[]) =>
    new Set(artifacts.map((a) => a.manifest.subject!.digest)).size;
  const imageCount = async (index: ImageIndex) => (await index.images()).length;

  it('a first push into a new repository: no HEAD for a small blob, no read of a fallback tag', async () => {
    // amd64's own layer is 2 MiB: a large blob is still asked for (a stopped push may have left it there).
    const index = await testIndex({ salt: 'requests-first', bigLayerBytes: 2 * 1024 * 1024 });
    const referrers = await supplyChain(index);
    const artifactBlobs = new Set(referrers.flatMap((a) => a.blobs.map((b) => b.descriptor.digest))).size;
    const blobs = (await blobCount(index)) + artifactBlobs;
    const result = await push(index, `${proxy.host}/requests/first:latest`, { ...options, referrers });
    expect(result).toMatchObject({ uploaded: blobs, skipped: 0 });
    expect(proxy.count('GET', '/tags/list')).toBe(1);
    // The registry does not know the name: is the index there by digest (a push by digest leaves no tag)?
    expect(proxy.count('HEAD', '/manifests/')).toBe(1);
    expect(proxy.count('HEAD', '/blobs/')).toBe(1);
    expect(proxy.count('GET', '/manifests/')).toBe(0);
    expect(uploads()).toBe(blobs);
    expect(proxy.count('PUT', '/blobs/uploads/')).toBe(blobs);
    // Each subject's fallback tag is written once, with all its referrers.
    expect(proxy.count('PUT', '/manifests/sha256-')).toBe(subjects(referrers));
    const manifests = (await imageCount(index)) + 1 + referrers.length + subjects(referrers) + 1;
    expect(proxy.count('PUT', '/manifests/')).toBe(manifests);
    // ping + tag list + HEAD of the index + the large blob's HEAD + POST and PUT per blob + the manifests.
    expect(proxy.requests).toHaveLength(1 + 1 + 1 + 1 + 2 * blobs + manifests);
    expect(result.requests).toBe(proxy.requests.length);
    const client = await RegistryClient.create(registry.host, { credential: null });
    try {
      for (const { image } of await index.images()) {
        const listed = await listReferrers(client, 'requests/first', (await image.digest()).toString(), [
          'repository:requests/first:pull',
        ]);
        expect(listed.descriptors).toHaveLength(3);
      }
    } finally {
      await client.close();
    }

    proxy.reset();
    const again = await push(index, `${proxy.host}/requests/first:latest`, { ...options, referrers });
    expect(again).toMatchObject({ uploaded: 0, skipped: blobs });
    expect(uploads()).toBe(0);
    // The index is there: each manifest is asked for once (HEAD), and one that is there proves its blobs are: no
    // blob is asked for, no manifest put again but the tag.
    expect(proxy.count('HEAD', '/manifests/')).toBe(1 + (await imageCount(index)) + referrers.length);
    expect(proxy.count('HEAD', '/blobs/')).toBe(0);
    expect(proxy.count('PUT', '/manifests/')).toBe(1);
    // The tag list names the fallback tags: each is read once, by GET, and is not written again.
    expect(proxy.count('GET', '/manifests/sha256-')).toBe(subjects(referrers));
    expect(proxy.count('PUT', '/manifests/sha256-')).toBe(0);
    expect(again.requests).toBe(proxy.requests.length);
  });

  it('fallback tags keep the referrers another client put there; one not in the tag list is not read', async () => {
    const index = await testIndex({ salt: 'requests-merge' });
    const repo = 'requests/merge';
    await push(index, `${registry.host}/${repo}:latest`, options);
    const [first, second] = await index.images();
    const theirs = artifact({
      artifactType: 'application/example',
      subject: {
        mediaType: first!.image.mediaType(),
        digest: first!.descriptor.digest,
        size: first!.descriptor.size,
      },
      layers: [{ mediaType: 'application/example', bytes: Buffer.from('another client\n') }],
    });
    const client = await RegistryClient.create(registry.host, { credential: null });
    try {
      const scopes = [`repository:${repo}:pull,push`];
      await pushReferrers(client, repo, [theirs], scopes);
      proxy.reset();
      const referrers = await supplyChain(index);
      await push(index, `${proxy.host}/${repo}:latest`, { ...options, referrers });
      // Only the first image's fallback tag existed (the tag list said so): only it was read.
      expect(proxy.count('GET', '/manifests/sha256-')).toBe(1);
      // The index was there: its images (there: their blobs are not asked for) and the referrers (new: their blobs
      // are) were asked for.
      expect(proxy.count('HEAD', '/manifests/')).toBe(1 + (await imageCount(index)) + referrers.length);
      expect(proxy.count('HEAD', '/blobs/')).toBe(
        new Set(referrers.flatMap((a) => a.blobs.map((b) => b.descriptor.digest))).size,
      );
      expect(proxy.count('PUT', '/manifests/')).toBe(referrers.length + subjects(referrers) + 1);
      const listed = await listReferrers(client, repo, first!.descriptor.digest, [`repository:${repo}:pull`]);
      expect(listed.descriptors.map((d) => d.digest).sort()).toEqual(
        [
          theirs.descriptor.digest,
          ...referrers
            .filter((a) => a.manifest.subject!.digest === first!.descriptor.digest)
            .map((a) => a.descriptor.digest),
        ].sort(),
      );
      const other = await listReferrers(client, repo, second!.descriptor.digest, [`repository:${repo}:pull`]);
      expect(other.descriptors).toHaveLength(3);
    } finally {
      await client.close();
    }
  });

  it('a repeat push by digest (no tag in the repository) still uploads nothing', async () => {
    const index = await testIndex({ salt: 'requests-digest' });
    const digest = (await index.digest()).toString();
    const first = await push(index, `${proxy.host}/requests/by-digest@${digest}`, options);
    expect(first).toMatchObject({ uploaded: await blobCount(index), tags: [] });
    proxy.reset();
    const again = await push(index, `${proxy.host}/requests/by-digest@${digest}`, options);
    expect(again).toMatchObject({ uploaded: 0, skipped: await blobCount(index) });
    expect(uploads()).toBe(0);
    expect(proxy.count('HEAD', `/manifests/${digest}`)).toBe(1);
  });

  it('asks the registry about the repository while the referrers are still being read, and stops if they fail', async () => {
    const index = await testIndex({ salt: 'requests-early' });
    const referrers = await supplyChain(index);
    let askedBefore = false;
    const later = (async () => {
      for (let i = 0; i < 500 && proxy.count('GET', '/tags/list') === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      askedBefore = proxy.count('GET', '/tags/list') === 1;
      return referrers;
    })();
    const result = await push(index, `${proxy.host}/requests/early:latest`, { ...options, referrers: later });
    expect(askedBefore).toBe(true);
    expect(proxy.count('PUT', '/manifests/sha256-')).toBe(subjects(referrers));
    expect(result.uploaded).toBe(
      (await blobCount(index)) +
        new Set(referrers.flatMap((a) => a.blobs.map((b) => b.descriptor.digest))).size,
    );

    proxy.reset();
    const failing = Promise.reject(new Error('an SBOM in the layout is damaged'));
    await expect(
      push(index, `${proxy.host}/requests/early-failed:latest`, { ...options, referrers: failing }),
    ).rejects.toThrow('an SBOM in the layout is damaged');
    expect(proxy.count('PUT', '/manifests/')).toBe(0);
    expect(uploads()).toBe(0);
  });
});
