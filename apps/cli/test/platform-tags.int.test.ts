/**
 * `build --platform-tags`: a layout gets `TAG-OS-ARCH[-VARIANT]` for each platform image beside the index's tags,
 * so umoci (which cannot pick a platform from an index: "tag is ambiguous") unpacks one platform by name; an
 * OCI archive of the same build still lists only the index.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { copyHelloBinaries } from './hello-fixture.ts';
import { cli, repoRoot } from './helpers.ts';

type Entry = {
  digest: string;
  platform?: { architecture: string; variant?: string };
  annotations?: Record<string, string>;
};

describeWithTools(['umoci'], 'build --platform-tags', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let images: { platform: string; digest: string }[];
  beforeAll(async () => {
    work = await tempDir('platform-tags-');
    await mkdir(join(work.path, 'src'), { recursive: true });
    await cp(join(repoRoot, 'packages', 'hello', 'Dockerfile'), join(work.path, 'Dockerfile'));
    await copyHelloBinaries(work.path);
    const r = await cli(
      // biome-ignore format: one flag per pair reads better
      ['build', 'dist/{label}', '-f', 'Dockerfile', '--platform', 'linux/amd64,linux/arm64,linux/arm/v7',
        '-t', 'latest', '-o', 'out/oci', '-o', 'out/hello.oci.tar', '--platform-tags', '--json'],
      { cwd: work.path },
    );
    expect([r.status, r.stderr]).toEqual([0, '']);
    images = JSON.parse(r.stdout).images;
  });
  afterAll(() => work?.cleanup());

  it('names each platform manifest TAG-OS-ARCH[-VARIANT], with its platform, beside the index tag', async () => {
    const index = JSON.parse(await readFile(join(work.path, 'out', 'oci', 'index.json'), 'utf8'));
    const tagged = (index.manifests as Entry[]).filter(
      (m) => m.annotations?.['org.opencontainers.image.ref.name'],
    );
    const byName = Object.fromEntries(
      tagged.map((m) => [m.annotations!['org.opencontainers.image.ref.name'], m]),
    );
    expect(Object.keys(byName).sort()).toEqual([
      'latest',
      'latest-linux-amd64',
      'latest-linux-arm-v7',
      'latest-linux-arm64',
    ]);
    for (const img of images) {
      const name = `latest-${img.platform.replace('arm64/v8', 'arm64').replaceAll('/', '-')}`;
      expect(byName[name]?.digest, name).toBe(img.digest);
      expect(byName[name]?.platform?.architecture).toBe(img.platform.split('/')[1]);
    }
  });

  it('umoci unpacks one platform by its tag', () => {
    const bundle = join(work.path, 'bundle-arm64');
    execFileSync(
      'umoci',
      ['unpack', '--rootless', '--image', `${join(work.path, 'out', 'oci')}:latest-linux-arm64`, bundle],
      {
        stdio: 'pipe',
      },
    );
    const file = execFileSync('file', ['-b', join(bundle, 'rootfs', 'hello')], { encoding: 'utf8' });
    expect(file).toMatch(/ARM aarch64/);
  });

  it('the OCI archive still lists one entry, the index', async () => {
    const listing = execFileSync('tar', ['-xOf', join(work.path, 'out', 'hello.oci.tar'), 'index.json'], {
      encoding: 'utf8',
    });
    const manifests = JSON.parse(listing).manifests as Entry[];
    expect(manifests).toHaveLength(1);
    expect(manifests[0]!.platform).toBeUndefined();
  });
});
