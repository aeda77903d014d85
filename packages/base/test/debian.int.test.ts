/**
 * The committed lock against the real Debian mirror this machine's apt is configured with: a cold cache fetches
 * and verifies every package, a warm one builds offline to the same index; and the CA bundle is byte for byte
 * what Debian's own update-ca-certificates wrote on this machine (for the version installed here).
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  caBundle,
  compareDebVersions,
  defaultLock,
  lockDiff,
  readDeb,
  refreshLock,
  staticBase,
} from '../src/index.ts';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 's390x' },
];

describeWithTools(
  ['apt-get', 'dpkg-query', 'update-ca-certificates'],
  'the static base from the Debian mirror',
  () => {
    let tmp: Awaited<ReturnType<typeof tempDir>>;
    beforeAll(async () => {
      tmp = await tempDir('base-debian-');
    });
    afterAll(() => tmp?.cleanup());

    it('fetches the locked packages through the apt sources, then builds offline from the cache', async () => {
      const cacheDir = join(tmp.path, 'cache');
      const fetched: string[] = [];
      const cold = await staticBase({ platforms: PLATFORMS, cacheDir, onFetch: (p) => fetched.push(p.name) });
      expect(fetched).toEqual(defaultLock.packages.map((p) => p.name));
      expect((await readdir(join(cacheDir, 'sha256'))).sort()).toEqual(
        defaultLock.packages.map((p) => p.sha256).sort(),
      );
      expect(await cold.layer.size()).toBeLessThanOrEqual(1024 * 1024);
      // No apt sources at all and no mirror: only the cache can serve.
      const warm = await staticBase({ platforms: PLATFORMS, cacheDir, aptRoot: join(tmp.path, 'no-apt') });
      expect(warm.indexDigest).toBe(cold.indexDigest);
      const names = (await cold.layer.digest()).toString();
      for (const i of cold.images)
        expect((await i.image.manifest()).layers.map((l) => l.digest)).toEqual([names]);
    });

    it("refreshes the lock from the mirror's Packages indexes: the same packages, none older", async () => {
      const next = await refreshLock(defaultLock);
      expect(next.packages.map((p) => p.name)).toEqual(defaultLock.packages.map((p) => p.name));
      for (const [i, p] of next.packages.entries()) {
        expect(compareDebVersions(p.version, defaultLock.packages[i]!.version)).toBeGreaterThanOrEqual(0);
        expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(p.filename).toMatch(new RegExp(`^pool/.*/${p.name}_.*_all\\.deb$`));
      }
      // Each line of the diff names a package whose pin moved.
      for (const line of lockDiff(defaultLock, next)) expect(line).toMatch(/^~ \S+ \S+ → \S+ \(\S+\)$/);
    });

    it("makes the CA bundle as update-ca-certificates does (this machine's installed version)", async () => {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
      const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'ca-certificates'], {
        encoding: 'utf8',
      });
      execFileSync('apt-get', ['download', '-q', `ca-certificates=${version}`], {
        cwd: tmp.path,
        stdio: 'ignore',
      });
      const deb = (await readdir(tmp.path)).find(
        (f) => f.startsWith('ca-certificates_') && f.endsWith('.deb'),
      )!;
      const ours = caBundle(await readDeb(await readFile(join(tmp.path, deb)), deb));
      const debians = await readFile('/etc/ssl/certs/ca-certificates.crt');
      // Debian's holds the Mozilla certificates first, then any the machine added under /usr/local.
      expect(ours.length).toBeGreaterThan(100_000);
      expect(debians.subarray(0, ours.length).equals(ours)).toBe(true);
    });
  },
);
