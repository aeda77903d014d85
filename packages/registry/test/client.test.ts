import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { sha256 } from '@scratchpack/oci';
import { freePort } from '@scratchpack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  blobExists,
  fetchBlob,
  getManifest,
  putManifest,
  RegistryClient,
  RegistryError,
  uploadBlob,
} from '../src/index.ts';

/**
 * A fake registry on loopback, just enough of the upload protocol to drive the client through the awkward paths
 * real distribution never takes: relative Locations with a query, OCI-Chunk-Min-Length, 416, expiring tokens.
 */
interface Fake {
  host: string;
  log: string[];
  blobs: Map<string, Buffer>;
  server: Server;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer, fake: Fake) => boolean | undefined;

async function fakeRegistry(opts: { minChunk?: number; handler?: Handler; auth?: 'bearer' | 'basic' } = {}) {
  const sessions = new Map<string, Buffer>();
  let nextId = 0;
  const fake = { log: [] as string[], blobs: new Map<string, Buffer>() } as Fake;
  fake.server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const url = new URL(req.url!, 'http://x');
      fake.log.push(
        `${req.method} ${url.pathname}${url.search}${req.headers['content-range'] ? ` [${req.headers['content-range']}]` : ''} ${body.length}`,
      );
      if (opts.handler?.(req, res, body, fake)) return;
      if (url.pathname === '/v2/') {
        if (opts.auth === 'bearer') {
          res
            .writeHead(401, { 'www-authenticate': `Bearer realm="http://${fake.host}/token",service="fake"` })
            .end();
          return;
        }
        if (opts.auth === 'basic') {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
          return;
        }
        res.writeHead(200).end();
        return;
      }
      if (
        opts.auth === 'basic' &&
        req.headers.authorization !== `Basic ${Buffer.from('u:right').toString('base64')}`
      ) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"', 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return;
      }
      const m = /^\/v2\/(.+)\/blobs\/uploads\/(.*)$/.exec(url.pathname);
      if (req.method === 'POST' && m && !m[2]) {
        const id = `s${nextId++}`;
        sessions.set(id, Buffer.alloc(0));
        const headers: Record<string, string> = { location: `${id}?_state=opaque%3D`, range: '0-0' };
        if (opts.minChunk) headers['oci-chunk-min-length'] = String(opts.minChunk);
        res.writeHead(202, headers).end();
        return;
      }
      if (m?.[2]) {
        const id = m[2];
        const have = sessions.get(id);
        if (!have) return void res.writeHead(404).end();
        if (url.searchParams.get('_state') !== 'opaque=') return void res.writeHead(400).end('lost _state');
        const range = req.headers['content-range'];
        if (range) {
          const [start, end] = String(range).split('-').map(Number) as [number, number];
          if (start !== have.length || end - start + 1 !== body.length) {
            res.writeHead(416, {
              location: `/v2/${m[1]}/blobs/uploads/${id}?_state=opaque%3D`,
              range: `0-${have.length - 1}`,
            });
            return void res.end();
          }
        }
        if (req.method === 'PATCH' && opts.minChunk && body.length < opts.minChunk) {
          return void res.writeHead(400).end('chunk too small');
        }
        const data = Buffer.concat([have, body]);
        sessions.set(id, data);
        if (req.method === 'PATCH') {
          const location = `/v2/${m[1]}/blobs/uploads/${id}?_state=opaque%3D`;
          return void res.writeHead(202, { location, range: `0-${data.length - 1}` }).end();
        }
        if (req.method === 'PUT') {
          const digest = url.searchParams.get('digest')!;
          if (sha256(data).toString() !== digest) return void res.writeHead(400).end('digest');
          fake.blobs.set(digest, data);
          return void res.writeHead(201, { 'docker-content-digest': digest }).end();
        }
      }
      const b = /^\/v2\/(.+)\/blobs\/(sha256:.+)$/.exec(url.pathname);
      if (b && req.method === 'HEAD') return void res.writeHead(fake.blobs.has(b[2]!) ? 200 : 404).end();
      const man = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
      if (man && req.method === 'PUT') {
        fake.blobs.set(`manifest:${man[2]}`, body);
        return void res.writeHead(201, { 'docker-content-digest': sha256(body).toString() }).end();
      }
      if (man && req.method === 'GET') {
        const stored = fake.blobs.get(`manifest:${man[2]}`);
        if (!stored) {
          res.writeHead(404, { 'content-type': 'application/json' });
          return void res.end(
            JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }),
          );
        }
        return void res
          .writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })
          .end(stored);
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
  fake.host = `127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  servers.push(fake.server);
  return fake;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const fastRetry = (slept: number[] = []) => ({
  retry: { baseDelayMs: 1, sleep: async (ms: number) => void slept.push(ms) },
  credential: null,
});

const blobOf = (bytes: Buffer) => ({
  digest: sha256(bytes).toString(),
  size: bytes.length,
  open: () => Readable.from([bytes]),
});
const SCOPES = ['repository:x:pull,push'];

describe('uploads against a fake registry', () => {
  it('follows relative Locations with a query, honours OCI-Chunk-Min-Length, puts the last chunk', async () => {
    const fake = await fakeRegistry({ minChunk: 64 });
    const client = new RegistryClient(fake.host, undefined, fastRetry());
    const bytes = Buffer.from(Array.from({ length: 150 }, (_, i) => i));
    await uploadBlob(client, 'x', blobOf(bytes), SCOPES, { chunkSize: 10, monolithicThreshold: 0 });
    expect(fake.blobs.get(sha256(bytes).toString())).toEqual(bytes);
    const uploads = fake.log.filter((l) => /PATCH|PUT/.test(l));
    expect(uploads).toEqual([
      'PATCH /v2/x/blobs/uploads/s0?_state=opaque%3D [0-63] 64',
      'PATCH /v2/x/blobs/uploads/s0?_state=opaque%3D [64-127] 64',
      `PUT /v2/x/blobs/uploads/s0?_state=opaque%3D&digest=${encodeURIComponent(sha256(bytes).toString())} [128-149] 22`,
    ]);
    await client.close();
  });

  it('resumes after 416 from the Range the registry reports', async () => {
    let rejected = false;
    const fake = await fakeRegistry({
      handler: (req, res, _body, f) => {
        // Reject the second PATCH once, as if the chunk arrived out of order: the registry holds 0..9.
        if (req.method === 'PATCH' && !rejected && f.log.filter((l) => l.startsWith('PATCH')).length === 2) {
          rejected = true;
          res.writeHead(416, { range: '0-9', location: req.url! }).end();
          return true;
        }
        return false;
      },
    });
    const client = new RegistryClient(fake.host, undefined, fastRetry());
    const bytes = Buffer.alloc(35, 7);
    await uploadBlob(client, 'x', blobOf(bytes), SCOPES, { chunkSize: 10, monolithicThreshold: 0 });
    expect(fake.blobs.get(sha256(bytes).toString())).toEqual(bytes);
    expect(fake.log.filter((l) => l.startsWith('PATCH')).map((l) => l.split(' ')[2])).toEqual([
      '[0-9]',
      '[10-19]',
      '[10-19]',
      '[20-29]',
    ]);
    await client.close();
  });

  it('restarts the session from POST when a chunk fails, and tells onRetry', async () => {
    let failed = false;
    const fake = await fakeRegistry({
      handler: (req, res) => {
        if (req.method === 'PATCH' && !failed) {
          failed = true;
          res.writeHead(502).end();
          return true;
        }
        return false;
      },
    });
    const retries: string[] = [];
    const client = new RegistryClient(fake.host, undefined, {
      ...fastRetry(),
      onRetry: (i) => retries.push(i.error.code),
    });
    const bytes = Buffer.alloc(25, 1);
    const { attempts } = await uploadBlob(client, 'x', blobOf(bytes), SCOPES, {
      chunkSize: 10,
      monolithicThreshold: 0,
    });
    expect(attempts).toBe(2);
    expect(retries).toEqual(['UNKNOWN']);
    expect(fake.log.filter((l) => l.startsWith('POST'))).toHaveLength(2);
    expect(fake.log.some((l) => l.startsWith('DELETE /v2/x/blobs/uploads/s0'))).toBe(true);
    expect(fake.blobs.get(sha256(bytes).toString())).toEqual(bytes);
    await client.close();
  });

  it('streams a blob in one PUT with Content-Length, reporting progress as bytes go out', async () => {
    const seen: { method: string; length: string | undefined; encoding: string | undefined }[] = [];
    const fake = await fakeRegistry({
      handler: (req) => {
        seen.push({
          method: req.method!,
          length: req.headers['content-length'],
          encoding: req.headers['transfer-encoding'],
        });
        return false;
      },
    });
    const client = new RegistryClient(fake.host, undefined, fastRetry());
    const bytes = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 5 }, (_, i) => i % 251));
    const parts = Array.from({ length: 49 }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536));
    const progress: number[] = [];
    await uploadBlob(
      client,
      'x',
      { digest: sha256(bytes).toString(), size: bytes.length, open: () => Readable.from(parts) },
      SCOPES,
      { onProgress: (n) => progress.push(n) },
    );
    // Buffer.equals: toEqual compares megabytes element by element, slowly.
    expect(fake.blobs.get(sha256(bytes).toString())?.equals(bytes)).toBe(true);
    expect(fake.log.filter((l) => /PATCH|PUT/.test(l))).toHaveLength(1);
    expect(seen.find((r) => r.method === 'PUT')).toEqual({
      method: 'PUT',
      length: String(bytes.length),
      encoding: undefined,
    });
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(bytes.length);
    expect(progress.length).toBeGreaterThan(3);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    await client.close();
  });

  it('sends a blob held in memory as it is, in one PUT, without opening a stream', async () => {
    const seen: { method: string; length: string | undefined }[] = [];
    const fake = await fakeRegistry({
      handler: (req) => {
        seen.push({ method: req.method!, length: req.headers['content-length'] });
        return false;
      },
    });
    const client = new RegistryClient(fake.host, undefined, fastRetry());
    const bytes = Buffer.from('{"sbom":1}');
    const blob = {
      digest: sha256(bytes).toString(),
      size: bytes.length,
      open: (): Readable => {
        throw new Error('opened a stream for a blob in memory');
      },
      bytes,
    };
    await uploadBlob(client, 'x', blob, SCOPES);
    expect(fake.blobs.get(blob.digest)?.equals(bytes)).toBe(true);
    expect(seen.find((r) => r.method === 'PUT')).toEqual({ method: 'PUT', length: String(bytes.length) });
    // Bytes that are not the size the descriptor says are refused before they are sent.
    await expect(
      uploadBlob(client, 'x', { ...blob, bytes: Buffer.from('{}') }, SCOPES),
    ).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await client.close();
  });

  it('uploads in chunks when a chunk size is given, even without a threshold', async () => {
    const fake = await fakeRegistry();
    const client = new RegistryClient(fake.host, undefined, fastRetry());
    const bytes = Buffer.alloc(25, 3);
    await uploadBlob(client, 'x', blobOf(bytes), SCOPES, { chunkSize: 10 });
    expect(fake.log.filter((l) => /PATCH|PUT/.test(l)).map((l) => l.split(' ')[0])).toEqual([
      'PATCH',
      'PATCH',
      'PUT',
    ]);
    expect(fake.blobs.get(sha256(bytes).toString())).toEqual(bytes);
    await client.close();
  });

  it('refuses a streamed blob longer than its descriptor says, without retrying', async () => {
    const fake = await fakeRegistry();
    const client = new RegistryClient(fake.host, undefined, fastRetry());
    const bytes = Buffer.alloc(70_000, 2);
    const blob = { ...blobOf(bytes), size: 65_000 };
    await expect(uploadBlob(client, 'x', blob, SCOPES)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(fake.log.filter((l) => l.startsWith('POST'))).toHaveLength(1);
    expect(fake.blobs.size).toBe(0);
    await client.close();
  });

  it('refuses a blob whose stream is not the size its descriptor says', async () => {
    const fake = await fakeRegistry();
    const client = new RegistryClient(fake.host, undefined, fastRetry());
    const bytes = Buffer.alloc(5);
    const blob = { ...blobOf(bytes), size: 6 };
    await expect(uploadBlob(client, 'x', blob, SCOPES)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await client.close();
  });
});

describe('blob downloads', () => {
  it('follows a redirect to another origin without the Authorization header', async () => {
    let cdnAuth: string | undefined = 'unset';
    const cdn = createServer((req, res) => {
      cdnAuth = req.headers.authorization;
      res.writeHead(200).end('blob-bytes');
    });
    servers.push(cdn);
    await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
    const cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}/b?X-Amz-Signature=s`;
    let registryAuth: string | undefined;
    const fake = await fakeRegistry({
      auth: 'basic',
      handler: (req, res) => {
        if (req.method === 'GET' && req.url?.includes('/blobs/sha256:')) {
          registryAuth = req.headers.authorization;
          res.writeHead(307, { location: cdnUrl }).end();
          return true;
        }
        return false;
      },
    });
    const client = new RegistryClient(
      fake.host,
      { username: 'u', password: 'right', source: 't' },
      fastRetry(),
    );
    const body = await fetchBlob(client, 'x', `sha256:${'4'.repeat(64)}`, SCOPES);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('blob-bytes');
    expect(registryAuth).toMatch(/^Basic /);
    expect(cdnAuth).toBeUndefined();
    await client.close();
  });
});

describe('retries', () => {
  it('retries 503 and honours 429 Retry-After, with an injected sleep', async () => {
    let n = 0;
    const fake = await fakeRegistry({
      handler: (req, res) => {
        if (req.method !== 'HEAD') return false;
        n++;
        if (n === 1) res.writeHead(503).end();
        else if (n === 2) res.writeHead(429, { 'retry-after': '2' }).end();
        else return false;
        return true;
      },
    });
    const slept: number[] = [];
    const client = new RegistryClient(fake.host, undefined, fastRetry(slept));
    expect(await blobExists(client, 'x', `sha256:${'0'.repeat(64)}`, SCOPES)).toBe(false);
    expect(n).toBe(3);
    expect(slept[1]).toBe(2000);
    await client.close();
  });

  it('retries a refused connection until the registry comes up', async () => {
    const port = await freePort();
    let server: Server | undefined;
    const slept: number[] = [];
    const client = new RegistryClient(`127.0.0.1:${port}`, undefined, {
      credential: null,
      retry: {
        baseDelayMs: 1,
        sleep: async (ms) => {
          slept.push(ms);
          if (slept.length === 2) {
            server = createServer((_req, res) => res.writeHead(200).end());
            servers.push(server);
            await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
          }
        },
      },
    });
    await client.ping();
    expect(slept).toHaveLength(2);
    await client.close();
  });

  it('does not retry a 404 and keeps the registry error code', async () => {
    const fake = await fakeRegistry();
    const client = new RegistryClient(fake.host, undefined, fastRetry());
    const err = await getManifest(client, 'x', 'nope', SCOPES).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.code).toBe('MANIFEST_UNKNOWN');
    expect(fake.log.filter((l) => l.startsWith('GET /v2/x/manifests'))).toHaveLength(1);
    await client.close();
  });
});

describe('authentication', () => {
  it('bearer: one token for many requests, access_token accepted, fresh token once after a 401', async () => {
    let issued = 0;
    let valid = '';
    const fake = await fakeRegistry({
      auth: 'bearer',
      handler: (req, res) => {
        const url = new URL(req.url!, 'http://x');
        if (url.pathname === '/token') {
          issued++;
          valid = `tok-${issued}-abcdef`;
          expect(url.searchParams.getAll('scope')).toEqual(SCOPES);
          expect(url.searchParams.get('service')).toBe('fake');
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ access_token: valid }));
          return true;
        }
        if (url.pathname !== '/v2/' && req.headers.authorization !== `Bearer ${valid}`) {
          res.writeHead(401, {
            'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="fake"`,
          });
          res.end();
          return true;
        }
        return false;
      },
    });
    const client = new RegistryClient(
      fake.host,
      { username: 'u', password: 'p', source: 'test' },
      fastRetry(),
    );
    for (let i = 0; i < 3; i++) await blobExists(client, 'x', `sha256:${'1'.repeat(64)}`, SCOPES);
    expect(issued).toBe(1);
    valid = 'rotated'; // the registry forgets the token, as when it expires mid-push
    await blobExists(client, 'x', `sha256:${'1'.repeat(64)}`, SCOPES);
    expect(issued).toBe(2);
    await client.close();
  });

  it('basic: wrong credentials give UNAUTHORIZED with a hint and no secret in the message', async () => {
    const fake = await fakeRegistry({ auth: 'basic' });
    const wrong = new RegistryClient(
      fake.host,
      { username: 'u', password: 'wrong-password', source: 't' },
      fastRetry(),
    );
    const err = await blobExists(wrong, 'x', `sha256:${'2'.repeat(64)}`, SCOPES).catch((e) => e);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(err.hint).toMatch(/refused the credentials from t: .*scratchpack login/);
    expect(`${err.message} ${err.hint}`).not.toMatch(/wrong-password|dTp3cm9uZy1wYXNzd29yZA/);
    const right = new RegistryClient(
      fake.host,
      { username: 'u', password: 'right', source: 't' },
      fastRetry(),
    );
    expect(await blobExists(right, 'x', `sha256:${'2'.repeat(64)}`, SCOPES)).toBe(false);
    await wrong.close();
    await right.close();
  });
});

describe('manifests', () => {
  it('puts with Content-Type = mediaType and refuses bytes that do not match a digest reference', async () => {
    const mt = 'application/vnd.oci.image.manifest.v1+json';
    let contentType = '';
    const fake = await fakeRegistry({
      handler: (req) => {
        if (req.method === 'PUT') contentType = String(req.headers['content-type']);
        return false;
      },
    });
    const client = new RegistryClient(fake.host, undefined, fastRetry());
    const empty =
      '{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}';
    const bytes = Buffer.from(`{"schemaVersion":2,"mediaType":"${mt}","config":${empty},"layers":[]}`);
    const digest = await putManifest(client, 'x', sha256(bytes).toString(), bytes, mt, SCOPES);
    expect(digest).toBe(sha256(bytes).toString());
    expect(contentType).toBe(mt);
    await expect(
      putManifest(client, 'x', `sha256:${'3'.repeat(64)}`, bytes, mt, SCOPES),
    ).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
    const got = await getManifest(client, 'x', digest, SCOPES);
    expect(got).toMatchObject({ digest, mediaType: mt });
    expect(got.bytes.equals(bytes)).toBe(true);
    await client.close();
  });
});
