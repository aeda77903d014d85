import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LayerEntry, sha256 } from '@scratchpack/oci';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEntries } from '../src/contents.ts';
import { baseAttestations, fetchDeb, readDeb, staticBase } from '../src/index.ts';
import { CERT, fakePackages, mirrorFiles, serve } from './helpers.ts';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const RISCV = { os: 'linux', architecture: 'riscv64' };

let fake: Awaited<ReturnType<typeof fakePackages>>;
let mirror: Awaited<ReturnType<typeof serve>>;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let n = 0;
const freshCache = () => join(tmp.path, `cache-${n++}`);
/** A URL where nothing listens (a server started and closed). */
let closedUrl: string;

beforeAll(async () => {
  fake = await fakePackages();
  mirror = await serve(mirrorFiles(fake.lock, fake.debs));
  tmp = await tempDir();
  const closed = await serve(new Map());
  closedUrl = closed.url;
  await closed.close();
});
afterAll(async () => {
  await mirror.close();
  await tmp.cleanup();
});

function byPath(entries: LayerEntry[]): Map<string, LayerEntry> {
  return new Map(entries.map((e) => [e.path, e]));
}

describe('the static base contents', () => {
  it('keeps what static programs read, adds the users, /tmp and the CA bundle, drops scripts and changelogs', async () => {
    const unpacked = await Promise.all(
      fake.lock.packages.map(async (pkg) => ({
        pkg,
        deb: await readDeb(fake.debs.get(pkg.name)!, pkg.name),
      })),
    );
    const e = byPath(baseEntries(fake.lock, unpacked));
    // update-ca-certificates' order (by name) and its added newline after a certificate without one.
    expect(e.get('/etc/ssl/certs/ca-certificates.crt')).toMatchObject({
      content: Buffer.from(`${CERT(1)}${CERT(2)}`),
    });
    expect(e.get('etc/services')).toMatchObject({ content: Buffer.from('https 443/tcp\n') });
    expect(e.get('usr/share/zoneinfo/Europe/Monaco')).toEqual({
      type: 'symlink',
      path: 'usr/share/zoneinfo/Europe/Monaco',
      target: 'Paris',
    });
    expect(e.get('usr/share/doc/tzdata/copyright')).toBeDefined();
    expect(e.has('usr/sbin/update-ca-certificates')).toBe(false);
    expect(e.has('usr/share/doc/ca-certificates/changelog.gz')).toBe(false);
    expect(e.has('usr/share/ca-certificates/mozilla/A.crt')).toBe(false);
    expect(String((e.get('etc/passwd') as { content: string }).content)).toMatch(
      /^root:x:0:0:[^\n]*\nnobody:x:65534:65534:[^\n]*\nnonroot:x:65532:65532:nonroot:\/home\/nonroot:/,
    );
    expect(e.get('home/nonroot')).toMatchObject({ mode: 0o700, uid: 65532, gid: 65532 });
    expect(e.get('tmp')).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(String((e.get('etc/nsswitch.conf') as { content: string }).content)).toMatch(
      /^hosts: files dns$/m,
    );
    expect(String((e.get('etc/os-release') as { content: string }).content)).toMatch(
      /^ID=debian\nVERSION_ID="12"/m,
    );
    expect(String((e.get('var/lib/dpkg/status.d/tzdata') as { content: string }).content)).toMatch(
      /^Package: tzdata\nVersion: 2026a-0\+deb12u1/,
    );
  });
});

describe('staticBase', () => {
  it('shares one layer across platforms, is reproducible, and sets the config', async () => {
    const opts = { lock: fake.lock, mirrors: [mirror.url], platforms: [AMD64, ARM64, RISCV] };
    const a = await staticBase({ ...opts, cacheDir: freshCache() });
    const b = await staticBase({ ...opts, cacheDir: freshCache() });
    expect(b.indexDigest).toBe(a.indexDigest);
    const layers = await Promise.all(a.images.map(async (i) => (await i.image.manifest()).layers));
    expect(new Set(layers.map((l) => JSON.stringify(l))).size).toBe(1);
    expect(layers[0]).toHaveLength(1);
    expect(new Set(a.images.map((i) => i.digest)).size).toBe(3);
    const cfg = await a.images[1]!.image.configFile();
    expect(cfg.architecture).toBe('arm64');
    expect(cfg.config?.Env).toContain('SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt');
    expect(cfg.config?.User).toBeUndefined();
    const nonroot = await staticBase({ ...opts, cacheDir: freshCache(), nonroot: true });
    expect((await nonroot.images[0]!.image.configFile()).config).toMatchObject({
      User: '65532',
      WorkingDir: '/home/nonroot',
    });
    expect(await nonroot.layer.digest()).toEqual(await a.layer.digest());
    const epoch = await staticBase({ ...opts, cacheDir: freshCache(), sourceDateEpoch: 1700000000 });
    expect(epoch.indexDigest).not.toBe(a.indexDigest);
    expect(a.packages.find((p) => p.name === 'tzdata')).toEqual({
      name: 'tzdata',
      version: '2026a-0+deb12u1',
      architecture: 'all',
      purl: 'pkg:deb/debian/tzdata@2026a-0%2Bdeb12u1?arch=all&distro=debian-12',
      licenses: ['public-domain'],
    });
  });

  it('SBOMs list the Debian packages as pkg:deb purls, for every platform image', async () => {
    const base = await staticBase({
      lock: fake.lock,
      mirrors: [mirror.url],
      platforms: [AMD64, RISCV],
      cacheDir: freshCache(),
    });
    const refs = await baseAttestations(base, {
      tool: { name: 't', version: '1' },
      tags: ['latest'],
      format: 'oci',
      sourceDateEpoch: 0,
    });
    expect(refs).toHaveLength(6);
    const spdx = refs.filter((r) => r.descriptor.artifactType === 'application/spdx+json');
    expect(spdx.map((r) => r.manifest.subject?.digest)).toEqual(base.images.map((i) => i.digest));
    const layer = spdx[1]!.manifest.layers[0]!.digest;
    const doc = JSON.parse(spdx[1]!.blobs.find((b) => b.descriptor.digest === layer)!.bytes.toString());
    expect(
      doc.packages.map(
        (p: { externalRefs: { referenceLocator: string }[] }) => p.externalRefs?.[0]?.referenceLocator,
      ),
    ).toContain('pkg:deb/debian/tzdata@2026a-0%2Bdeb12u1?arch=all&distro=debian-12');
    expect(doc.files.map((f: { fileName: string }) => f.fileName)).toContain(
      './etc/ssl/certs/ca-certificates.crt',
    );
  });

  it('builds offline from a warm cache, and refetches a damaged cache entry', async () => {
    const cacheDir = freshCache();
    const opts = { lock: fake.lock, platforms: [AMD64], cacheDir };
    const first = await staticBase({ ...opts, mirrors: [mirror.url] });
    expect((await readdir(join(cacheDir, 'sha256'))).sort()).toEqual(
      fake.lock.packages.map((p) => p.sha256).sort(),
    );
    // A closed port: any fetch would fail.
    const offline = await staticBase({ ...opts, mirrors: [closedUrl] });
    expect(offline.indexDigest).toBe(first.indexDigest);
    const victim = join(cacheDir, 'sha256', fake.lock.packages[0]!.sha256);
    await writeFile(victim, 'garbage');
    const before = mirror.requests.length;
    const again = await staticBase({ ...opts, mirrors: [mirror.url] });
    expect(again.indexDigest).toBe(first.indexDigest);
    expect(mirror.requests.slice(before)).toEqual([`/debian/${fake.lock.packages[0]!.filename}`]);
    expect(sha256(await readFile(victim)).hex).toBe(fake.lock.packages[0]!.sha256);
  });
});

describe('fetchDeb failures', () => {
  const pkg = () => fake.lock.packages[1]!;

  it('a tampered or truncated package names the package and leaves nothing in the cache', async () => {
    const bytes = fake.debs.get(pkg().name)!;
    for (const bad of [Buffer.concat([bytes.subarray(0, -1), Buffer.from('x')]), bytes.subarray(0, 100)]) {
      const m = await serve(new Map([[`/debian/${pkg().filename}`, bad]]));
      const cacheDir = freshCache();
      try {
        const err = await fetchDeb(pkg(), { mirrors: () => [m.url], cacheDir }).catch((e) => e);
        expect(err.code).toBe('BASE_DEB_MISMATCH');
        expect(err.message).toContain(
          `netbase 6.4 (all) from ${m.url}/${pkg().filename} does not match the lock`,
        );
        expect(err.hint).toMatch(/refresh the lock/);
        expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
      } finally {
        await m.close();
      }
    }
  });

  it('a package the mirror does not have, and a mirror that is down', async () => {
    const empty = await serve(new Map());
    try {
      const missing = await fetchDeb(pkg(), { mirrors: () => [empty.url], cacheDir: freshCache() }).catch(
        (e) => e,
      );
      expect(missing.code).toBe('BASE_PACKAGE_NOT_FOUND');
      expect(missing.message).toMatch(/^cannot fetch netbase 6\.4 \(all\): .*not found$/);
    } finally {
      await empty.close();
    }
    const down = await fetchDeb(pkg(), {
      mirrors: () => [closedUrl],
      cacheDir: freshCache(),
    }).catch((e) => e);
    expect(down.code).toBe('BASE_FETCH_FAILED');
    expect(down.message).toMatch(
      /cannot fetch netbase 6\.4 \(all\): http:\/\/127\.0\.0\.1:\d+\/debian\/pool\/.*ECONNREFUSED/,
    );
    expect(down.temporary).toBe(true);
  });

  it('tries the next mirror when one lacks the package', async () => {
    const empty = await serve(new Map());
    try {
      const got = await fetchDeb(pkg(), { mirrors: () => [empty.url, mirror.url], cacheDir: freshCache() });
      expect(sha256(got).hex).toBe(pkg().sha256);
    } finally {
      await empty.close();
    }
  });

  it('a damaged .deb says so', async () => {
    await expect(
      readDeb(Buffer.from('!<arch>\ndebian-binary   0           0     0     100644  99        `\n'), 'x 1'),
    ).rejects.toThrow(/x 1: not a Debian package \(member debian-binary is truncated\)/);
  });
});
