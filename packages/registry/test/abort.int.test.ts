/**
 * Cancelling a push or a pull through its AbortSignal, against Debian's docker-registry behind the fault proxy.
 * The proxy stalls the request to cancel (an upload it stops reading, a blob download it stops sending, a retry
 * answer with a long Retry-After), and the test aborts once the stall is in place: no race with the registry.
 * Each test then checks real state: what the registry holds, what the layout holds, what is left on disk.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortedError,
  appendLayers,
  emptyImage,
  type ImageIndex,
  layerFromEntries,
  readLayout,
  validateLayout,
  writeLayout,
} from '@scratchpack/oci';
import {
  describeWithTools,
  type FaultProxy,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
} from '@scratchpack/test-utils';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { pull, push } from '../src/index.ts';
import { manifestExists, testIndex } from './images.ts';

/** An abort must end the call this fast; the stalls would otherwise last the client's 60 s timeout. */
const PROMPT_MS = 3000;

describeWithTools(['docker-registry'], 'cancelling push and pull', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let work: string;

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    work = await mkdtemp(join(tmpdir(), 'scratchpack-abort-'));
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    proxy.reset();
    proxy.setRules([]);
  });

  async function blobExistsDirect(repository: string, digest: string): Promise<boolean> {
    const res = await fetch(`${registry.url}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
    return res.status === 200;
  }

  /** Run `call`, abort it once the proxy stalls a request, and say how it ended and how long the abort took. */
  async function abortAtStall<T>(call: (signal: AbortSignal) => Promise<T>) {
    const controller = new AbortController();
    const outcome = call(controller.signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    const stalled = await Promise.race([proxy.stalled(), outcome.then(() => undefined)]);
    expect(stalled, 'the call reached the stalled request').toBeDefined();
    const requestsAtAbort = proxy.requests.length;
    const abortedAt = Date.now();
    controller.abort();
    const err = await outcome;
    return { err, ms: Date.now() - abortedAt, requestsAtAbort, stalled: stalled! };
  }

  const layerDigests = async (index: ImageIndex) => {
    const out: string[] = [];
    for (const { image } of await index.images())
      for (const l of await image.layers()) out.push((await l.digest()).toString());
    return out;
  };

  it.each([
    ['one streamed PUT', 'PUT', {}],
    ['PATCH chunks', 'PATCH', { chunkSize: 32 * 1024 }],
  ] as const)(
    'a push aborted mid-upload (%s) rejects at once with AbortedError; no tag, manifest or blob of it',
    async (_how, method, upload) => {
      const repo = `abort/upload-${method.toLowerCase()}`;
      const index = await testIndex({ salt: `abort-upload-${method}`, bigLayerBytes: 200_000 });
      // The second PATCH (chunked) or the first big PUT stops being read half-way.
      const rule =
        method === 'PUT'
          ? { method, path: '/blobs/uploads/', times: Infinity, action: { stallAfterBytes: 64 * 1024 } }
          : { method, path: '/blobs/uploads/', nth: 2, action: { stallAfterBytes: 16 * 1024 } };
      proxy.setRules([rule]);
      const { err, ms, requestsAtAbort, stalled } = await abortAtStall((signal) =>
        push(index, `${proxy.host}/${repo}:latest`, {
          credential: null,
          timeoutMs: 60_000,
          // One request at a time: when the upload stalls, nothing else is in flight.
          concurrency: 1,
          requestConcurrency: 1,
          ...upload,
          signal,
        }),
      );
      expect(stalled.method).toBe(method);
      expect(err).toBeInstanceOf(AbortedError);
      expect((err as AbortedError).code).toBe('ABORTED');
      expect(ms).toBeLessThan(PROMPT_MS);
      // Nothing was sent after the abort (no retry, no manifest), and the registry holds no trace of the image.
      expect(proxy.requests.slice(requestsAtAbort)).toEqual([]);
      expect(proxy.count('PUT', '/manifests/')).toBe(0);
      expect(await manifestExists(registry.host, repo, 'latest')).toBe(false);
      expect(await manifestExists(registry.host, repo, (await index.digest()).toString())).toBe(false);
      const big = (await layerDigests(index))[1]!; // amd64's own layer, the 200 kB one
      expect(await blobExistsDirect(repo, big)).toBe(false);
    },
  );

  it('a push aborted while it waits out a Retry-After stops waiting and never retries', async () => {
    const index = await testIndex({ salt: 'abort-backoff' });
    // A repository with a tag already: the push asks for each blob (a new one it would not).
    await push(await testIndex({ salt: 'abort-seed' }), `${registry.host}/abort/backoff:seed`, {
      credential: null,
    });
    proxy.setRules([
      { method: 'HEAD', path: '/blobs/', action: { status: 503, headers: { 'retry-after': '30' } } },
    ]);
    const controller = new AbortController();
    let abortedAt = 0;
    const err = await push(index, `${proxy.host}/abort/backoff:latest`, {
      credential: null,
      concurrency: 1,
      requestConcurrency: 1,
      signal: controller.signal,
      onRetry: (info) => {
        expect(info.delayMs).toBeGreaterThanOrEqual(30_000);
        abortedAt = Date.now();
        controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect(abortedAt).toBeGreaterThan(0);
    expect(Date.now() - abortedAt).toBeLessThan(PROMPT_MS);
    expect(proxy.count('HEAD', '/blobs/')).toBe(1);
    expect(proxy.count('POST')).toBe(0);
    expect(await manifestExists(registry.host, 'abort/backoff', 'latest')).toBe(false);
  });

  it('a push whose signal is already aborted sends nothing', async () => {
    const index = await testIndex({ salt: 'abort-early' });
    const err = await push(index, `${proxy.host}/abort/early:latest`, {
      credential: null,
      signal: AbortSignal.abort(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect(proxy.requests).toEqual([]);
  });

  it('a pull aborted mid-blob rejects at once; the layout keeps its old tag, valid, with no temp files', async () => {
    const index = await testIndex({ salt: 'abort-pull', bigLayerBytes: 200_000 });
    await push(index, `${registry.host}/abort/pull:latest`, { credential: null });
    const dest = join(work, 'pulled');
    const old = await appendLayers(emptyImage({ platform: { os: 'linux', architecture: 'amd64' } }), {
      layer: layerFromEntries([{ type: 'file', path: 'old', content: 'old\n' }]),
    });
    await writeLayout(dest, old, { tags: ['old'] });
    const indexBefore = await readFile(join(dest, 'index.json'));
    const big = (await layerDigests(index))[1]!;
    proxy.setRules([
      { method: 'GET', path: `/blobs/${big}`, action: { stallResponseAfterBytes: 32 * 1024 } },
    ]);

    const { err, ms, stalled } = await abortAtStall((signal) =>
      pull(`${proxy.host}/abort/pull:latest`, dest, { credential: null, timeoutMs: 60_000, signal }),
    );
    expect(stalled.path).toContain(big);
    expect(err).toBeInstanceOf(AbortedError);
    expect(ms).toBeLessThan(PROMPT_MS);
    expect(proxy.count('GET', `/blobs/${big}`)).toBe(1); // not retried
    expect(await readFile(join(dest, 'index.json'))).toEqual(indexBefore);
    const leftovers = [...(await readdir(dest)), ...(await readdir(join(dest, 'blobs', 'sha256')))].filter(
      (n) => n.startsWith('.tmp-'),
    );
    expect(leftovers).toEqual([]);
    expect(await readdir(join(dest, 'blobs', 'sha256'))).not.toContain(big.slice('sha256:'.length));
    expect(await (await readLayout(dest)).tags()).toEqual(['old']);
    expect((await validateLayout(dest, { tag: 'old' })).problems).toEqual([]);
  });
});
