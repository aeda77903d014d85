/**
 * Cancellation in the transport and the retry loop, against a registry that never answers (the hostile
 * registry's `silent` rule): an abort ends the request with AbortedError — not a socket error, not a timeout —
 * and nothing is retried after it.
 */
import { AbortedError } from '@scratchpack/oci';
import { type HostileRegistry, startHostileRegistry } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RegistryClient, RegistryError, retryPolicy, Transport, withRetry } from '../src/index.ts';

let hostile: HostileRegistry;
beforeAll(async () => {
  hostile = await startHostileRegistry({ rules: [{ path: '/v2/silent/', action: { silent: true } }] });
});
afterAll(() => hostile?.stop());

/** Resolves once the registry has seen a request for `path` (it then never answers: no race). */
async function seen(path: string): Promise<void> {
  while (!hostile.requests.some((r) => r.path.includes(path))) await new Promise((r) => setTimeout(r, 5));
}

it('a request the registry never answers ends with AbortedError on abort, at once', async () => {
  const transport = new Transport(hostile.host, { timeoutMs: 60_000 });
  try {
    const controller = new AbortController();
    const sending = transport
      .send({ method: 'GET', url: transport.url('/v2/silent/manifests/a'), signal: controller.signal })
      .catch((e: unknown) => e);
    await seen('/v2/silent/manifests/a');
    const at = Date.now();
    controller.abort();
    const err = await sending;
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as Error).message).toBe(`GET ${hostile.url}/v2/silent/manifests/a: cancelled`);
    expect(Date.now() - at).toBeLessThan(3000);
  } finally {
    await transport.close();
  }
});

it('the client signal cancels requests, and the retry loop neither retries nor waits after an abort', async () => {
  const controller = new AbortController();
  const client = await RegistryClient.create(hostile.host, {
    credential: null,
    timeoutMs: 60_000,
    signal: controller.signal,
  });
  try {
    const before = hostile.requests.length;
    const requesting = client
      .request({
        method: 'GET',
        url: client.url('silent', 'manifests/b'),
        expect: [200],
        scopes: [],
      })
      .catch((e: unknown) => e);
    await seen('/v2/silent/manifests/b');
    controller.abort();
    expect(await requesting).toBeInstanceOf(AbortedError);
    await new Promise((r) => setTimeout(r, 50));
    // /v2/ once, the manifest once: no retry.
    expect(hostile.requests.slice(before).map((r) => r.path)).toEqual(['/v2/', '/v2/silent/manifests/b']);
  } finally {
    await client.close();
  }
});

it('withRetry: an abort during a backoff wait that ignores the signal still ends it; fn is not called again', async () => {
  const controller = new AbortController();
  let calls = 0;
  const policy = retryPolicy({ sleep: () => new Promise<void>(() => {}) }); // never ends by itself
  const running = withRetry(
    async () => {
      calls++;
      throw new RegistryError({ status: 503, method: 'GET', url: 'http://127.0.0.1:1/v2/', errors: [] });
    },
    policy,
    () => setImmediate(() => controller.abort()),
    controller.signal,
  );
  await expect(running).rejects.toBeInstanceOf(AbortedError);
  expect(calls).toBe(1);
});

it('many requests in flight on one signal: no EventTarget leak warning', async () => {
  hostile.serve('/v2/many/blobs/x', { body: Buffer.from('x') });
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  const controller = new AbortController();
  const client = await RegistryClient.create(hostile.host, { credential: null, signal: controller.signal });
  try {
    const responses = await Promise.all(
      Array.from({ length: 24 }, () =>
        client.request({ method: 'GET', url: client.url('many', 'blobs/x'), expect: [200], scopes: [] }),
      ),
    );
    for (const r of responses) expect(await r.text()).toBe('x');
    await new Promise((r) => setImmediate(r));
    expect(warnings.map((w) => w.message)).toEqual([]);
  } finally {
    process.off('warning', onWarning);
    await client.close();
  }
});

it('a token request the realm never answers ends with AbortedError on abort (the auth layer takes the signal)', async () => {
  const realm = await startHostileRegistry({ rules: [{ path: '/token', action: { silent: true } }] });
  const registry = await startHostileRegistry({
    rules: [
      {
        path: '/v2/',
        action: {
          status: 401,
          headers: { 'www-authenticate': `Bearer realm="${realm.url}/token",service="test"` },
        },
      },
    ],
  });
  const controller = new AbortController();
  const client = await RegistryClient.create(registry.host, {
    credential: null,
    timeoutMs: 60_000,
    signal: controller.signal,
  });
  try {
    const requesting = client
      .request({
        method: 'GET',
        url: client.url('auth', 'manifests/c'),
        expect: [200],
        scopes: ['repository:auth:pull'],
      })
      .catch((e: unknown) => e);
    while (!realm.requests.some((r) => r.path.startsWith('/token')))
      await new Promise((r) => setTimeout(r, 5));
    const at = Date.now();
    controller.abort();
    const err = await requesting;
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as Error).message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/token\?service=test.*: cancelled$/,
    );
    expect(Date.now() - at).toBeLessThan(3000);
    // The manifest was never asked for.
    expect(registry.requests.filter((r) => r.path.includes('/manifests/'))).toEqual([]);
  } finally {
    await client.close();
    await registry.stop();
    await realm.stop();
  }
});
