/** `podman load` (no daemon) accepts our OCI archive and names the image after --image-name. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildCopy, cli } from './helpers.ts';

describeWithTools(['podman'], 'podman load of the OCI archive', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let podman: (...args: string[]) => string;

  beforeAll(async () => {
    work = await tempDir('podman-');
    await buildCopy(work.path);
    // Its own storage in the temp dir (vfs: no overlay or fuse needed), so nothing on the host is touched.
    const store = [
      '--root',
      join(work.path, 'root'),
      '--runroot',
      join(work.path, 'run'),
      '--storage-driver',
      'vfs',
    ];
    podman = (...args) =>
      execFileSync('podman', [...store, ...args], { encoding: 'utf8', stdio: 'pipe', timeout: 120_000 });
  });
  afterAll(() => work?.cleanup());

  it('loads the archive as a named amd64 image with our config', async () => {
    const r = await cli(
      [
        'build',
        'dist/{label}',
        '-f',
        'Dockerfile',
        '--platform',
        'linux/amd64,linux/arm64',
        '--image-name',
        'example.test/hello',
        '-o',
        'out/named.oci.tar',
      ],
      {
        cwd: work.path,
      },
    );
    expect(r.status).toBe(0);
    const out = podman('load', '-i', join(work.path, 'out', 'named.oci.tar'));
    expect(out).toMatch(/Loaded image/);
    const images = podman('images', '--format', '{{.Repository}}:{{.Tag}}');
    expect(images).toContain('example.test/hello:latest');
    const inspect = JSON.parse(podman('image', 'inspect', 'example.test/hello:latest'));
    expect(inspect[0].Architecture).toBe('amd64');
    expect(inspect[0].Config.Cmd).toEqual(['/hello']);
  });
});
