/**
 * The flagship pipeline end to end, with the real parts: zig compiles hello for every platform, the CLI
 * packs the images from the Dockerfile, qemu-user runs each one from the layout, skopeo and umoci read
 * our layout and archive, and two builds in two folders give the same digests.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateLayout } from '@scratchpack/oci';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { SUPPORTED_PLATFORMS } from '@scratchpack/toolchain';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildCopy, cli } from './helpers.ts';

const qemus = [...new Set(SUPPORTED_PLATFORMS.map((p) => p.qemu))];

describeWithTools(
  ['skopeo', 'umoci', ...qemus],
  'hello images: build, validate, run, read back (real tools)',
  () => {
    let a: Awaited<ReturnType<typeof tempDir>>;
    let b: Awaited<ReturnType<typeof tempDir>>;
    let first: Awaited<ReturnType<typeof buildCopy>>;
    let second: Awaited<ReturnType<typeof buildCopy>>;
    let layout: string;

    beforeAll(async () => {
      a = await tempDir('images-a-');
      b = await tempDir('images-b-');
      first = await buildCopy(a.path);
      second = await buildCopy(join(b.path, 'elsewhere', 'deeper'));
      layout = join(a.path, 'out', 'oci');
    });
    afterAll(async () => {
      await a?.cleanup();
      await b?.cleanup();
    });

    it('packs all fifteen platforms into one index, in matrix order', () => {
      expect(first.images.map((i) => i.platform)).toEqual(SUPPORTED_PLATFORMS.map((p) => p.name));
    });

    it('is reproducible: the same index, manifests and archive from another folder', async () => {
      expect(second.index).toBe(first.index);
      expect(second.images).toEqual(first.images);
      const archA = await readFile(join(a.path, 'out', 'hello.oci.tar'));
      const archB = await readFile(join(b.path, 'elsewhere', 'deeper', 'out', 'hello.oci.tar'));
      expect(archB.equals(archA)).toBe(true);
    });

    it('writes a layout whose every digest and size checks out', async () => {
      const report = await validateLayout(layout, { tag: 'latest' });
      expect(report.problems).toEqual([]);
      expect(report.checked).toBeGreaterThan(15 * 3);
    });

    it.each(SUPPORTED_PLATFORMS.map((p) => [p.name] as const))(
      'scratchpack run --platform %s prints its platform',
      async (name) => {
        const r = await cli(['run', '--platform', name, '--pin-cpu', `${layout}:latest`]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout).toContain(`built for ${name}:`);
      },
    );

    it('skopeo reads the exact index bytes and lists all fifteen platforms', async () => {
      const raw = execFileSync('skopeo', ['inspect', '--raw', `oci:${layout}:latest`]);
      const ours = await readFile(join(layout, 'blobs', 'sha256', first.index.slice('sha256:'.length)));
      expect(raw.equals(ours)).toBe(true);
      const index = JSON.parse(raw.toString()) as {
        mediaType: string;
        manifests: { platform: { architecture: string; variant?: string } }[];
      };
      expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
      expect(
        index.manifests.map((m) => [m.platform.architecture, m.platform.variant ?? ''].join('/')),
      ).toEqual([
        'amd64/',
        '386/',
        'arm/v5',
        'arm/v6',
        'arm/v7',
        'arm64/v8',
        'loong64/',
        'mips/',
        'mipsle/',
        'mips64/',
        'mips64le/',
        'ppc64/',
        'ppc64le/',
        'riscv64/',
        's390x/',
      ]);
    });

    it('skopeo copies the layout and the archive with every platform', async () => {
      const dest = join(a.path, 'copy');
      execFileSync(
        'skopeo',
        ['copy', '--all', '--preserve-digests', `oci:${layout}:latest`, `oci:${dest}:copy`],
        { stdio: 'pipe' },
      );
      const copied = execFileSync('skopeo', ['inspect', '--raw', `oci:${dest}:copy`]);
      expect(JSON.parse(copied.toString()).manifests).toHaveLength(15);
      const fromArchive = join(a.path, 'from-archive');
      execFileSync(
        'skopeo',
        [
          'copy',
          '--all',
          `oci-archive:${join(a.path, 'out', 'hello.oci.tar')}:latest`,
          `oci:${fromArchive}:x`,
        ],
        { stdio: 'pipe' },
      );
      const raw = execFileSync('skopeo', ['inspect', '--raw', `oci:${fromArchive}:x`]).toString();
      expect(JSON.parse(raw).manifests).toHaveLength(15);
    });

    it('umoci unpacks the amd64 image into a bundle whose rootfs holds /hello', async () => {
      const single = join(a.path, 'single');
      execFileSync(
        'skopeo',
        ['copy', '--override-arch', 'amd64', `oci:${layout}:latest`, `oci:${single}:amd64`],
        { stdio: 'pipe' },
      );
      const bundle = join(a.path, 'bundle');
      execFileSync('umoci', ['unpack', '--rootless', '--image', `${single}:amd64`, bundle], {
        stdio: 'pipe',
      });
      const out = execFileSync(join(bundle, 'rootfs', 'hello'), { encoding: 'utf8' });
      expect(out).toContain('built for linux/amd64:');
    });

    it('--format docker writes a Docker v2 manifest list of Docker manifests, valid and runnable', async () => {
      const args = ['build', 'dist/{label}', '-f', 'Dockerfile', '--platform', 'linux/amd64,linux/arm/v7'];
      const r = await cli([...args, '--format', 'docker', '-o', 'out/docker'], { cwd: a.path });
      expect(r.status).toBe(0);
      const dir = join(a.path, 'out', 'docker');
      // skopeo's oci: transport only follows OCI media types in index.json, so read the list ourselves.
      const r2 = await cli(['inspect', `${dir}:latest`, '--raw']);
      const raw = JSON.parse(r2.stdout);
      expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
      expect(raw.manifests.map((m: { mediaType: string }) => m.mediaType)).toEqual([
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.docker.distribution.manifest.v2+json',
      ]);
      const child = JSON.parse(
        (await readFile(join(dir, 'blobs', 'sha256', raw.manifests[1].digest.slice(7)))).toString(),
      );
      expect(child.config.mediaType).toBe('application/vnd.docker.container.image.v1+json');
      expect(child.layers[0].mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
      expect((await validateLayout(dir)).problems).toEqual([]);
      const run = await cli(['run', '--platform', 'linux/arm/v7', `${dir}:latest`]);
      expect(run.status).toBe(0);
      expect(run.stdout).toContain('built for linux/arm/v7:');
    });

    it('inspect shows the platforms and validates', async () => {
      const r = await cli(['inspect', `${layout}:1.0.0`, '--json']);
      expect(r.status).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.digest).toBe(first.index);
      expect(j.validated).toBe(true);
      expect(j.images).toHaveLength(15);
      expect(j.images[0].config.Cmd).toEqual(['/hello']);
    });

    it('a different SOURCE_DATE_EPOCH gives a different index', async () => {
      const c = await tempDir('images-c-');
      try {
        const third = await buildCopy(c.path, { SOURCE_DATE_EPOCH: '1700000000' });
        expect(third.index).not.toBe(first.index);
      } finally {
        await c.cleanup();
      }
    });

    it('a failed build leaves the previous layout untouched and says where it failed', async () => {
      const before = await readFile(join(layout, 'index.json'));
      await writeFile(join(a.path, 'Dockerfile.bad'), 'FROM scratch\nCOPY hello /\nRUN echo hi\n');
      const r = await cli(
        ['build', 'dist/{label}', '-f', 'Dockerfile.bad', '--platform', 'all', '-o', 'out/oci'],
        { cwd: a.path },
      );
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/Dockerfile\.bad:3:1/);
      expect(r.stderr).toMatch(/RUN/);
      expect((await readFile(join(layout, 'index.json'))).equals(before)).toBe(true);
    });

    it('unknown tags, missing layouts and missing platforms are clear errors', async () => {
      const noTag = await cli(['run', `${layout}:nope`]);
      expect(noTag.status).toBe(1);
      expect(noTag.stderr).toMatch(/nope/);
      expect(noTag.stderr).toMatch(/latest/);
      const noLayout = await cli(['inspect', join(a.path, 'missing')]);
      expect(noLayout.status).toBe(1);
      expect(noLayout.stderr).toMatch(/missing/);
      const noPlatform = await cli(['run', '--platform', 'linux/sparc64', `${layout}:latest`]);
      expect(noPlatform.status).toBe(2);
      expect(noPlatform.stderr).toMatch(/no image for linux\/sparc64/);
      expect(noPlatform.stderr).toMatch(/linux\/arm64\/v8/);
    });
  },
);
