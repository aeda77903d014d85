import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateLayout } from '@scratchpack/oci';
import {
  describeWithTools,
  type FaultProxy,
  type FaultRule,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
} from '@scratchpack/test-utils';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { type PushOptions, pull, push, RegistryError } from '../src/index.ts';
import { blobCount, manifestExists, testIndex } from './images.ts';

describeWithTools(['docker-registry', 'skopeo'], 'push through injected faults', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let slept: number[];

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  beforeEach(() => {
    proxy.reset();
    proxy.setRules([]);
    slept = [];
  });

  const options = (extra: PushOptions = {}): PushOptions => ({
    retry: { baseDelayMs: 5, sleep: async (ms) => void slept.push(ms) },
    credential: null,
    concurrency: 2,
    ...extra,
  });

  const tagExists = (repository: string, reference: string) =>
    manifestExists(registry.host, repository, reference);

  async function pushWith(repo: string, salt: string, rules: FaultRule[], extra: PushOptions = {}) {
    proxy.setRules(rules);
    const index = await testIndex({ salt, bigLayerBytes: 60_000 });
    const result = await push(
      index,
      `${proxy.host}/${repo}:latest`,
      options({ chunkSize: 16 * 1024, monolithicThreshold: 32 * 1024, ...extra }),
    );
    return { index, result };
  }

  it('a connection dropped in the middle of a PATCH restarts that upload and completes', async () => {
    const { index, result } = await pushWith('faults/patch-drop', 'patch-drop', [
      { method: 'PATCH', nth: 2, action: { dropAfterBytes: 5000 } },
    ]);
    expect(proxy.faults()).toEqual([
      expect.objectContaining({ method: 'PATCH', fault: 'drop after 5000 bytes' }),
    ]);
    expect(result.retries).toBe(1);
    expect(result.blobs.find((b) => b.attempts === 2)).toBeDefined();
    expect(proxy.count('POST', '/blobs/uploads/')).toBe((await blobCount(index)) + 1);
    expect(await tagExists('faults/patch-drop', 'latest')).toBe(true);
  });

  it('a connection dropped in the middle of a monolithic PUT is retried', async () => {
    const { result } = await pushWith('faults/put-drop', 'put-drop', [
      { method: 'PUT', path: '/blobs/uploads/', nth: 1, action: { dropAfterBytes: 50 } },
    ]);
    expect(proxy.faults()).toHaveLength(1);
    expect(result.retries).toBe(1);
    expect(await tagExists('faults/put-drop', 'latest')).toBe(true);
  });

  it('500 on a blob HEAD and 429 + Retry-After on a manifest PUT are retried (Retry-After honoured)', async () => {
    // A repository with a tag already: the push asks for each blob (a new one it would not).
    await push(await testIndex({ salt: 'status-seed' }), `${registry.host}/faults/status:seed`, options());
    const { result } = await pushWith('faults/status', 'status', [
      { method: 'HEAD', path: '/blobs/', nth: 1, action: { status: 500 } },
      {
        method: 'PUT',
        path: '/manifests/',
        nth: 2,
        action: { status: 429, headers: { 'retry-after': '3' } },
      },
    ]);
    expect(proxy.faults().map((f) => f.fault)).toEqual(['status 500', 'status 429']);
    expect(result.retries).toBe(2);
    expect(slept).toContain(3000);
    expect(await tagExists('faults/status', 'latest')).toBe(true);
  });

  it('a child manifest that keeps failing fails the push, and no tag is published', async () => {
    const index = await testIndex({ salt: 'child-fails', bigLayerBytes: 60_000 });
    const child = (await (await index.images())[1]!.image.digest()).toString();
    const err = await pushWith('faults/child', 'child-fails', [
      {
        method: 'PUT',
        path: `/manifests/${child}`,
        times: Number.POSITIVE_INFINITY,
        action: { status: 500 },
      },
    ]).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ status: 500, method: 'PUT' });
    expect(proxy.count('PUT', `/manifests/${child}`)).toBe(5); // default maxAttempts
    expect(proxy.count('PUT', '/manifests/latest')).toBe(0);
    expect(proxy.count('PUT', `/manifests/${(await index.digest()).toString()}`)).toBe(0);
    expect(await tagExists('faults/child', 'latest')).toBe(false);
  });

  it('a blob download cut half-way is fetched again, and the layout is complete', async () => {
    const { index } = await pushWith('faults/pull', 'pull', []);
    const big = (await (await index.images())[0]!.image.layers()).at(-1)!;
    const digest = (await big.digest()).toString();
    proxy.reset();
    proxy.setRules([{ method: 'GET', path: `/blobs/${digest}`, action: { dropResponseAfterBytes: 10_000 } }]);
    const dir = await mkdtemp(join(tmpdir(), 'scratchpack-pull-fault-'));
    try {
      const retried: string[] = [];
      const result = await pull(`${proxy.host}/faults/pull:latest`, dir, {
        ...options(),
        onProgress: (e) => e.type === 'retry' && retried.push(e.code),
      });
      expect(result.digest).toBe((await index.digest()).toString());
      expect(retried).toEqual(['CONNECTION_RESET']);
      expect(proxy.count('GET', `/blobs/${digest}`)).toBe(2);
      expect((await validateLayout(dir)).problems).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a non-retryable 4xx is not retried', async () => {
    const err = await pushWith('faults/denied', 'denied', [
      {
        method: 'POST',
        path: '/blobs/uploads/',
        action: {
          status: 403,
          body: JSON.stringify({
            errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }],
          }),
        },
      },
    ]).catch((e) => e);
    expect(err).toMatchObject({
      code: 'DENIED',
      status: 403,
      registryMessage: 'requested access to the resource is denied',
    });
    expect(slept).toEqual([]);
    expect(await tagExists('faults/denied', 'latest')).toBe(false);
  });
});
