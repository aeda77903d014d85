/**
 * Referrers against a fake registry on loopback that HAS the OCI 1.1 referrers API (answers manifest PUTs
 * with `OCI-Subject`, serves `GET /v2/<name>/referrers/<digest>`), and one that lacks it (404 there): the
 * client must use the API when it exists and keep the `sha256-<hex>` fallback tag only when it does not.
 * The fallback path against Debian's real docker-registry is in apps/cli/test/supply-chain.int.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  appendLayers,
  artifact,
  type Descriptor,
  imageIndex,
  layerFromEntries,
  type Manifest,
  MediaTypes,
  scratch,
  sha256,
  withPlatform,
} from '@scratchpack/oci';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchArtifact, listReferrers, push, pushReferrers, RegistryClient } from '../src/index.ts';

interface Fake {
  host: string;
  log: string[];
  manifests: Map<string, { bytes: Buffer; type: string }>;
  server: Server;
}

async function fakeRegistry(withApi: boolean): Promise<Fake> {
  const fake = { log: [] as string[], manifests: new Map() } as Fake;
  const blobs = new Map<string, Buffer>();
  fake.server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const url = new URL(req.url!, 'http://x');
      fake.log.push(`${req.method} ${url.pathname}${url.search}`);
      const p = url.pathname;
      if (p === '/v2/') return void res.writeHead(200).end();
      let m = /^\/v2\/repo\/blobs\/uploads\/(\w*)$/.exec(p);
      if (m && req.method === 'POST')
        return void res.writeHead(202, { location: '/v2/repo/blobs/uploads/s1' }).end();
      if (m && req.method === 'PUT') {
        const d = url.searchParams.get('digest')!;
        blobs.set(d, body);
        return void res.writeHead(201, { 'docker-content-digest': d }).end();
      }
      m = /^\/v2\/repo\/blobs\/(sha256:\w+)$/.exec(p);
      if (m) {
        const b = blobs.get(m[1]!);
        if (!b) return void res.writeHead(404).end();
        return void res
          .writeHead(200, { 'content-length': b.length })
          .end(req.method === 'HEAD' ? undefined : b);
      }
      m = /^\/v2\/repo\/manifests\/(.+)$/.exec(p);
      if (m && req.method === 'PUT') {
        const digest = sha256(body).toString();
        fake.manifests.set(m[1]!, { bytes: body, type: req.headers['content-type']! });
        fake.manifests.set(digest, { bytes: body, type: req.headers['content-type']! });
        const subject = (JSON.parse(body.toString()) as Manifest).subject;
        const headers: Record<string, string> = { 'docker-content-digest': digest };
        if (withApi && subject) headers['oci-subject'] = subject.digest;
        return void res.writeHead(201, headers).end();
      }
      if (m) {
        const found = fake.manifests.get(m[1]!);
        if (!found) return void res.writeHead(404).end();
        const headers = {
          'content-type': found.type,
          'content-length': found.bytes.length,
          'docker-content-digest': sha256(found.bytes).toString(),
        };
        return void res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : found.bytes);
      }
      m = /^\/v2\/repo\/referrers\/(sha256:\w+)$/.exec(p);
      if (m && withApi) {
        const manifests: Descriptor[] = [];
        for (const [ref, v] of fake.manifests) {
          if (!ref.startsWith('sha256:')) continue;
          const man = JSON.parse(v.bytes.toString()) as Manifest;
          if (man.subject?.digest !== m[1]) continue;
          if (
            url.searchParams.get('artifactType') &&
            man.artifactType !== url.searchParams.get('artifactType')
          )
            continue;
          manifests.push({
            mediaType: man.mediaType,
            digest: ref,
            size: v.bytes.length,
            artifactType: man.artifactType!,
          });
        }
        const idx = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests });
        return void res.writeHead(200, { 'content-type': MediaTypes.ociIndex }).end(idx);
      }
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"NOT_FOUND","message":"no"}]}');
    });
  });
  await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
  fake.host = `127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  return fake;
}

let fake: Fake | undefined;
afterEach(async () => {
  await new Promise((r) => fake?.server.close(r));
  fake = undefined;
});

const subject: Descriptor = {
  mediaType: MediaTypes.ociManifest,
  digest: `sha256:${'ab'.repeat(32)}`,
  size: 123,
};
const sbom = (text: string, type = 'application/spdx+json') =>
  artifact({ artifactType: type, subject, layers: [{ mediaType: type, bytes: Buffer.from(text) }] });
const scopes = ['repository:repo:pull,push'];

describe('referrers over the distribution API', () => {
  it('uses the referrers API when the registry has it: no fallback tag is written', async () => {
    fake = await fakeRegistry(true);
    const client = await RegistryClient.create(fake.host, { credential: null });
    try {
      const a = sbom('one');
      const b = sbom('two', 'application/vnd.cyclonedx+json');
      const r = await pushReferrers(client, 'repo', [a, b], scopes);
      expect(r).toEqual({ pushed: [a.descriptor.digest, b.descriptor.digest], fallbackTags: [] });
      expect(fake.log.some((l) => l.includes('sha256-'))).toBe(false);
      const listed = await listReferrers(client, 'repo', subject.digest, scopes);
      expect(listed.via).toBe('api');
      expect(listed.descriptors.map((d) => d.digest).sort()).toEqual(
        [a.descriptor.digest, b.descriptor.digest].sort(),
      );
      const only = await listReferrers(
        client,
        'repo',
        subject.digest,
        scopes,
        'application/vnd.cyclonedx+json',
      );
      expect(only.descriptors.map((d) => d.digest)).toEqual([b.descriptor.digest]);
      expect(fake.log).toContain(
        `GET /v2/repo/referrers/${subject.digest}?artifactType=application%2Fvnd.cyclonedx%2Bjson`,
      );
      const fetched = await fetchArtifact(client, 'repo', b.descriptor, scopes);
      expect(fetched.blobs[1]!.bytes.toString()).toBe('two');
    } finally {
      await client.close();
    }
  });

  it('without the API: maintains the sha256-<hex> fallback tag (appending, never duplicating) and reads it back', async () => {
    fake = await fakeRegistry(false);
    const client = await RegistryClient.create(fake.host, { credential: null });
    try {
      const a = sbom('one');
      const b = sbom('two');
      const tag = `sha256-${'ab'.repeat(32)}`;
      expect((await pushReferrers(client, 'repo', [a], scopes)).fallbackTags).toEqual([tag]);
      await pushReferrers(client, 'repo', [a, b], scopes);
      const idx = JSON.parse(fake.manifests.get(tag)!.bytes.toString());
      expect(idx.mediaType).toBe(MediaTypes.ociIndex);
      expect(idx.manifests.map((d: Descriptor) => d.digest)).toEqual([
        a.descriptor.digest,
        b.descriptor.digest,
      ]);
      expect(idx.manifests[0].artifactType).toBe('application/spdx+json');
      const puts = fake.log.filter((l) => l === `PUT /v2/repo/manifests/${tag}`).length;
      await pushReferrers(client, 'repo', [a, b], scopes);
      expect(fake.log.filter((l) => l === `PUT /v2/repo/manifests/${tag}`).length).toBe(puts);
      const listed = await listReferrers(client, 'repo', subject.digest, scopes);
      expect(listed.via).toBe('tag');
      expect(listed.descriptors.map((d) => d.digest)).toEqual([a.descriptor.digest, b.descriptor.digest]);
      expect((await listReferrers(client, 'repo', `sha256:${'cd'.repeat(32)}`, scopes)).descriptors).toEqual(
        [],
      );
    } finally {
      await client.close();
    }
  });
});

describe('push with referrers', () => {
  it('puts the image, then its referrers (and fallback tag), and moves the tag last', async () => {
    fake = await fakeRegistry(false);
    const layer = layerFromEntries([{ type: 'file', path: 'hello', content: 'hi', mode: 0o755 }]);
    const image = await withPlatform(await appendLayers(scratch, { layer }), {
      os: 'linux',
      architecture: 'amd64',
    });
    const index = imageIndex([{ image }]);
    const imageDigest = (await image.digest()).toString();
    const subjectOf = { mediaType: image.mediaType(), digest: imageDigest, size: await image.size() };
    const doc = artifact({
      artifactType: 'application/spdx+json',
      subject: subjectOf,
      layers: [{ mediaType: 'application/spdx+json', bytes: Buffer.from('{}\n') }],
    });
    const events: string[] = [];
    await push(index, `${fake.host}/repo:v1`, {
      credential: null,
      referrers: [doc],
      onProgress: (e) => events.push(e.type),
    });
    const puts = fake.log.filter((l) => l.startsWith('PUT /v2/repo/manifests/'));
    expect(puts).toEqual([
      `PUT /v2/repo/manifests/${imageDigest}`,
      `PUT /v2/repo/manifests/${(await index.digest()).toString()}`,
      `PUT /v2/repo/manifests/${doc.descriptor.digest}`,
      `PUT /v2/repo/manifests/sha256-${imageDigest.slice(7)}`,
      'PUT /v2/repo/manifests/v1',
    ]);
    expect(events.indexOf('referrers-done')).toBeLessThan(events.indexOf('tag-done'));
  });
});
