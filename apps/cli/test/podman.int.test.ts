/**
 * Our OCI archive is ONE multi-platform image to containers/image: `podman load` takes the index (its digest
 * and name; podman stores the host's instance), `buildah from oci-archive:` and `skopeo copy oci-archive:` take it without being told which image,
 * and our own `load` still gets back every tag and every referrer (SBOMs, provenance).
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BuiltCopy, buildCopy, cli } from './helpers.ts';

describeWithTools(['podman', 'buildah', 'skopeo', 'runc'], 'other tools load the OCI archive', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let built: BuiltCopy;
  // Their own storage in the temp dir (vfs: no overlay or fuse needed), so nothing on the host is touched.
  const storage = () => [
    '--root',
    join(work.path, 'root'),
    '--runroot',
    join(work.path, 'run'),
    '--storage-driver',
    'vfs',
  ];
  const run = (tool: string, args: string[]) =>
    execFileSync(tool, args, { encoding: 'utf8', stdio: 'pipe', timeout: 120_000 });
  const podman = (...args: string[]) =>
    run('podman', [...storage(), '--runtime', 'runc', '--cgroup-manager=cgroupfs', ...args]);
  const buildah = (...args: string[]) => run('buildah', [...storage(), ...args]);

  beforeAll(async () => {
    work = await tempDir('podman-');
    built = await buildCopy(work.path);
  });
  afterAll(() => work?.cleanup());

  it('podman load takes the index: its digest, its name, the platform of the host', async () => {
    const r = await cli(
      // biome-ignore format: one flag per pair reads better
      ['build', 'dist/{label}', '-f', 'Dockerfile', '--platform', 'linux/amd64,linux/arm64',
        '--image-name', 'example.test/hello', '-o', 'out/named.oci.tar', '--json'],
      { cwd: work.path },
    );
    expect(r.status).toBe(0);
    const { index, images } = JSON.parse(r.stdout) as BuiltCopy;
    const out = podman('load', '-i', join(work.path, 'out', 'named.oci.tar'));
    expect(out).toMatch(/Loaded image/);
    const listed = podman('images', '--digests', '--format', '{{.Repository}}:{{.Tag}} {{.Digest}}');
    expect(listed).toContain(`example.test/hello:latest ${index}`);
    const inspect = JSON.parse(podman('image', 'inspect', 'example.test/hello:latest'));
    expect(inspect[0].Architecture).toBe('amd64');
    expect(inspect[0].Config.Cmd).toEqual(['/hello']);
    // Stored as the host's instance of the index (podman keeps one platform), reachable by both digests.
    const amd64 = images.find((i) => i.platform === 'linux/amd64')!.digest;
    expect(inspect[0].RepoDigests.sort()).toEqual(
      [`example.test/hello@${index}`, `example.test/hello@${amd64}`].sort(),
    );
  });

  it('buildah from oci-archive: takes the all-platform archive without a name', () => {
    const archive = join(work.path, 'out', 'hello.oci.tar');
    const container = buildah('from', `oci-archive:${archive}`).trim();
    expect(container).toMatch(/working-container/);
    const info = JSON.parse(buildah('inspect', container));
    expect(info.OCIv1.architecture).toBe('amd64');
    expect(info.OCIv1.config.Cmd).toEqual(['/hello']);
    buildah('rm', container);
  });

  it('skopeo copy oci-archive: --all keeps the index digest', async () => {
    const dest = join(work.path, 'copied');
    run('skopeo', ['copy', '--all', `oci-archive:${join(work.path, 'out', 'hello.oci.tar')}`, `oci:${dest}`]);
    const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { digest: string }) => m.digest)).toEqual([built.index]);
  });

  it('our load gets back every tag and every referrer into the store (what push sends)', async () => {
    const env = { SCRATCHPACK_STORE: join(work.path, 'store') };
    const archive = join(work.path, 'out', 'hello.oci.tar');
    const load = await cli(['load', '-i', archive, '--name', 'me/hello'], { cwd: work.path, env });
    expect(load.stderr).toBe('');
    expect(load.stdout.trim().split('\n').sort()).toEqual([
      'loaded me/hello:1.0.0',
      'loaded me/hello:latest',
    ]);
    const layoutIndex = JSON.parse(await readFile(join(work.path, 'out', 'oci', 'index.json'), 'utf8'));
    const stored = JSON.parse(await readFile(join(work.path, 'store', 'index.json'), 'utf8'));
    const referrers = (i: { manifests: { artifactType?: string; digest: string }[] }) =>
      i.manifests
        .filter((m) => m.artifactType)
        .map((m) => m.digest)
        .sort();
    expect(referrers(layoutIndex).length).toBeGreaterThan(0);
    expect(referrers(stored)).toEqual(referrers(layoutIndex));
  });
});
