import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  appendLayers,
  emptyImage,
  type Image,
  layerFromEntries,
  MediaTypes,
  withConfig,
} from '@scratchpack/oci';
import { type HostileRegistry, startHostileRegistry, tempDir } from '@scratchpack/test-utils';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type PullEvent, type PullOptions, pull } from '../src/index.ts';

/**
 * A pull from a registry that misbehaves must end, bounded, with a clear error: over-long blobs, bodies without
 * end, huge manifests, trickled bodies, no answer at all. The server is in-process (test-utils' hostile
 * registry); timeouts are short so each case takes well under a few seconds.
 */

const REPO = 'hostile/img';
let server: HostileRegistry;
let image: Image;
let layerDigest: string;
let layerSize: number;
let manifestBytes: Buffer;
let dir: string;
let cleanup: () => Promise<void>;
let events: PullEvent[];

beforeAll(async () => {
  const layer = layerFromEntries([{ type: 'file', path: 'hello', mode: 0o755, content: 'hello hostile\n' }]);
  image = await withConfig(
    await appendLayers(emptyImage({ platform: { os: 'linux', architecture: 'amd64' } }), { layer }),
    { Cmd: ['/hello'] },
  );
  const config = await image.configDescriptor();
  layerDigest = (await layer.digest()).toString();
  layerSize = await layer.size();
  manifestBytes = await image.rawManifest();
  const layerBytes: Buffer[] = [];
  for await (const c of layer.compressed()) layerBytes.push(c as Buffer);
  server = await startHostileRegistry({
    content: {
      [`/v2/${REPO}/manifests/latest`]: { body: manifestBytes, contentType: MediaTypes.ociManifest },
      [`/v2/${REPO}/blobs/${config.digest}`]: { body: await image.rawConfig() },
      [`/v2/${REPO}/blobs/${layerDigest}`]: { body: Buffer.concat(layerBytes) },
    },
  });
});
afterAll(() => server?.stop());
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('hostile-pull-'));
  server.requests.length = 0;
  server.setRules([]);
  events = [];
});
afterEach(() => cleanup());

const options = (extra: PullOptions = {}): PullOptions => ({
  credential: null,
  retry: { baseDelayMs: 1, maxAttempts: 2 },
  timeoutMs: 10_000,
  onProgress: (e) => events.push(e),
  ...extra,
});

async function leftovers(): Promise<string[]> {
  try {
    return (await readdir(join(dir, 'blobs', 'sha256'))).filter((f) => f.startsWith('.tmp-'));
  } catch {
    return [];
  }
}

/** Wait (up to 2 s) for the server to see the client close the connection. */
async function closedByClient(path: string): Promise<{ closedEarly: boolean; bytesSent: number }> {
  const sent = () => server.requests.find((r) => r.path.includes(path))!;
  for (let i = 0; i < 100 && !sent().closedEarly; i++) await new Promise((r) => setTimeout(r, 20));
  return sent();
}

async function pullError(extra: PullOptions = {}): Promise<Error & { code?: string; hint?: string }> {
  const err = await pull(`${server.host}/${REPO}:latest`, dir, options(extra)).then(
    () => new Error('the pull succeeded'),
    (e: unknown) => e as Error,
  );
  return err;
}

describe('pull from a hostile registry', () => {
  it('works against the same server when it behaves (the baseline)', async () => {
    const result = await pull(`${server.host}/${REPO}:latest`, dir, options());
    expect(result.digest).toBe((await image.digest()).toString());
    expect(await leftovers()).toEqual([]);
  });

  it('a blob body without end is cut one byte past its size: SIZE_MISMATCH naming registry and blob', async () => {
    server.setRules([
      { path: `/blobs/${layerDigest}`, action: { extraBytes: Infinity, contentLength: 'none' } },
    ]);
    const err = await pullError();
    expect(err).toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(err.message).toContain(server.host);
    expect(err.message).toContain(layerDigest);
    expect(err.message).toContain(`should be ${layerSize} bytes`);
    expect(err.hint).toMatch(/corrupted/);
    expect(server.requests.filter((r) => r.path.includes(layerDigest)).length).toBe(1); // not retried
    // the client stopped reading: the server got to send little beyond the socket buffers
    const sent = await closedByClient(layerDigest);
    expect(sent.closedEarly).toBe(true);
    expect(sent.bytesSent).toBeLessThan(64 * 1024 * 1024);
    expect(await leftovers()).toEqual([]);
  });

  it('a blob whose Content-Length exceeds its size fails before the body is read', async () => {
    server.setRules([{ path: `/blobs/${layerDigest}`, action: { extraBytes: 10_000_000 } }]);
    const err = await pullError();
    expect(err).toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(err.message).toMatch(/announces \d+ bytes/);
    expect(await leftovers()).toEqual([]);
  });

  it('a manifest body without end stops at 4 MiB: MANIFEST_TOO_LARGE', async () => {
    server.setRules([{ path: '/manifests/', action: { hugeBytes: Infinity, contentLength: 'none' } }]);
    const err = await pullError();
    expect(err).toMatchObject({ code: 'MANIFEST_TOO_LARGE' });
    expect(err.message).toContain(server.host);
    const sent = await closedByClient('/manifests/');
    expect(sent.closedEarly).toBe(true);
    expect(sent.bytesSent).toBeLessThan(64 * 1024 * 1024);
  });

  it('a 100 MB manifest is refused from its Content-Length, without reading it', async () => {
    server.setRules([{ path: '/manifests/', action: { hugeBytes: 100_000_000 } }]);
    const err = await pullError();
    expect(err).toMatchObject({ code: 'MANIFEST_TOO_LARGE' });
    expect(err.message).toMatch(/100000000 bytes announced/);
    expect(server.requests.find((r) => r.path.includes('/manifests/'))!.bytesSent).toBeLessThan(50_000_000);
  });

  it.each([
    ['"layers": 5', { layers: 5 }, /layers: expected an array of descriptors, got a number/],
    ['no config', { config: undefined }, /config: expected a descriptor object/],
    [
      'a layer without digest',
      { layers: [{ mediaType: MediaTypes.ociLayerGzip, size: 1 }] },
      /layers\[0\]\.digest/,
    ],
  ])('a manifest with %s is a clear error, not a TypeError', async (_, change, why) => {
    const doc = { ...JSON.parse(manifestBytes.toString('utf8')), ...change };
    server.serve(`/v2/${REPO}/manifests/broken`, {
      body: Buffer.from(JSON.stringify(doc)),
      contentType: MediaTypes.ociManifest,
    });
    const err = await pull(`${server.host}/${REPO}:broken`, dir, options()).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ code: 'OCI_INVALID_DOCUMENT' });
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).toContain(server.host);
  });

  it('an index whose "manifests" is an object is a clear error', async () => {
    server.serve(`/v2/${REPO}/manifests/idx`, {
      body: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: {} })),
      contentType: MediaTypes.ociIndex,
    });
    const err = await pull(`${server.host}/${REPO}:idx`, dir, options()).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ code: 'OCI_INVALID_DOCUMENT' });
    expect((err as Error).message).toMatch(/manifests: expected an array/);
  });

  it('a blob trickled a byte at a time ends with REGISTRY_TIMEOUT, with notices while waiting', async () => {
    server.setRules([{ path: `/blobs/${layerDigest}`, action: { trickleEveryMs: 40 } }]);
    const started = Date.now();
    const err = await pullError({ timeoutMs: 1500 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toMatchObject({ code: 'REGISTRY_TIMEOUT' });
    expect(err.message).toContain(server.host);
    expect(err.message).toMatch(/trickling/);
    expect(err.hint).toMatch(/--timeout/);
    expect(events.some((e) => e.type === 'wait' && e.phase === 'body' && e.registry === server.host)).toBe(
      true,
    );
    expect(await leftovers()).toEqual([]);
  });

  it('a registry that never answers a manifest request fails after the timeout, naming it', async () => {
    server.setRules([{ path: '/manifests/', action: { silent: true } }]);
    const started = Date.now();
    const err = await pullError({ timeoutMs: 1000 });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(5000);
    expect(err).toMatchObject({ code: 'REGISTRY_TIMEOUT' });
    expect(err.message).toMatch(new RegExp(`${server.host} stalled: no response of GET`));
    const waits = events.filter((e) => e.type === 'wait');
    expect(waits.length).toBeGreaterThan(0);
    expect(waits[0]).toMatchObject({ phase: 'response', method: 'GET', timeoutMs: 1000 });
  });

  it('a token endpoint answering without end is cut at 1 MiB', async () => {
    server.serve('/token', { body: Buffer.from('{"token":"x"}'), contentType: 'application/json' });
    server.setRules([
      {
        path: /^\/v2\/$/,
        action: {
          status: 401,
          headers: { 'www-authenticate': `Bearer realm="${server.url}/token",service="hostile"` },
        },
      },
      { path: '/token', action: { hugeBytes: Infinity, contentLength: 'none' } },
    ]);
    const err = await pullError();
    expect(err).toMatchObject({ code: 'PROTOCOL_VIOLATION' });
    expect(err.message).toMatch(/token response from .* is larger than 1048576 bytes/);
    expect((await closedByClient('/token')).closedEarly).toBe(true);
  });

  it('a manifest trickled a byte at a time ends too', async () => {
    server.setRules([{ path: '/manifests/', action: { trickleEveryMs: 30 } }]);
    const err = await pullError({ timeoutMs: 1200 });
    expect(err).toMatchObject({ code: 'REGISTRY_TIMEOUT' });
  });
});
