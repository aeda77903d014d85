/**
 * `scratchpack push` and `pull` against Debian's real docker-registry on loopback (started here), read back
 * with skopeo: the flagship image round-trips with identical digests, a repeat push uploads nothing, a push
 * to a second repository mounts, credentials and failures give clear errors.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describeWithTools,
  freePort,
  type RunningRegistry,
  startRegistry,
  tempDir,
} from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BuiltCopy, buildCopy, cli } from './helpers.ts';

interface PushJson {
  digest: string;
  indexDigest: string;
  uploaded: number;
  skipped: number;
  mounted: number;
  manifests: string[];
  tags: string[];
}

describeWithTools(
  ['docker-registry', 'skopeo', 'htpasswd', 'qemu-aarch64-static'],
  'push and pull with a real registry',
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let registry: RunningRegistry;
    let built: BuiltCopy;
    let layout: string;

    beforeAll(async () => {
      work = await tempDir('push-');
      built = await buildCopy(work.path);
      layout = join(work.path, 'out', 'oci');
      registry = await startRegistry();
    });
    afterAll(async () => {
      await registry?.stop();
      await work?.cleanup();
    });

    it('publishes all platforms; skopeo sees the exact index and copies it back with the same digests', async () => {
      const r = await cli([
        'push',
        `${layout}:latest`,
        `${registry.host}/hello:latest`,
        '--tag',
        '1.0.0',
        '--json',
      ]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const result = JSON.parse(r.stdout) as PushJson;
      expect(result.digest).toBe(built.index);
      expect(result.manifests).toHaveLength(15);
      expect(result.tags).toEqual(['latest', '1.0.0']);
      expect(result.uploaded).toBeGreaterThan(15);

      const raw = execFileSync('skopeo', [
        'inspect',
        '--raw',
        '--tls-verify=false',
        `docker://${registry.host}/hello:1.0.0`,
      ]);
      const ours = await readFile(join(layout, 'blobs', 'sha256', built.index.slice(7)));
      expect(raw.equals(ours)).toBe(true);

      const back = join(work.path, 'skopeo-back');
      execFileSync(
        'skopeo',
        [
          'copy',
          '--all',
          '--src-tls-verify=false',
          `docker://${registry.host}/hello:latest`,
          `oci:${back}:latest`,
        ],
        {
          stdio: 'pipe',
        },
      );
      const copied = JSON.parse(
        execFileSync('skopeo', ['inspect', '--raw', `oci:${back}:latest`]).toString(),
      );
      expect(copied.manifests.map((m: { digest: string }) => m.digest)).toEqual(
        built.images.map((i) => i.digest),
      );
    });

    it('a repeat push uploads no blob', async () => {
      const r = await cli(['push', `${layout}:latest`, `${registry.host}/hello:latest`, '--json']);
      expect(r.status).toBe(0);
      const result = JSON.parse(r.stdout) as PushJson;
      expect(result.uploaded).toBe(0);
      expect(result.skipped).toBeGreaterThan(15);
    });

    it('a push to a second repository mounts blobs from the first', async () => {
      const r = await cli([
        'push',
        `${layout}:latest`,
        `${registry.host}/other/hello:v1`,
        '--from',
        'hello',
        '--json',
      ]);
      expect(r.status).toBe(0);
      const result = JSON.parse(r.stdout) as PushJson;
      expect(result.uploaded).toBe(0);
      expect(result.mounted).toBeGreaterThan(15);
    });

    it('a --format docker image is served as a Docker manifest list', async () => {
      const args = ['build', 'dist/{label}', '-f', 'Dockerfile', '--platform', 'linux/amd64,linux/arm64'];
      const b = await cli([...args, '--format', 'docker', '-o', 'out/docker'], { cwd: work.path });
      expect(b.status).toBe(0);
      const r = await cli([
        'push',
        `${join(work.path, 'out', 'docker')}:latest`,
        `${registry.host}/legacy:latest`,
      ]);
      expect(r.status).toBe(0);
      const raw = execFileSync('skopeo', [
        'inspect',
        '--raw',
        '--tls-verify=false',
        `docker://${registry.host}/legacy:latest`,
      ]);
      const list = JSON.parse(raw.toString());
      expect(list.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
      const one = execFileSync('skopeo', [
        'inspect',
        '--tls-verify=false',
        '--override-arch',
        'arm64',
        `docker://${registry.host}/legacy:latest`,
      ]);
      expect(JSON.parse(one.toString()).Architecture).toBe('arm64');
    });

    it('pull round-trips, and a one-platform pull runs under qemu-user', async () => {
      const dest = join(work.path, 'pulled');
      const all = await cli(['pull', `${registry.host}/hello:latest`, `${dest}:all`, '--json']);
      expect(all.status).toBe(0);
      expect(JSON.parse(all.stdout).digest).toBe(built.index);
      const one = await cli([
        'pull',
        `${registry.host}/hello:1.0.0`,
        `${dest}:arm64`,
        '--platform',
        'linux/arm64',
        '--json',
      ]);
      expect(one.status).toBe(0);
      expect(JSON.parse(one.stdout).digest).toBe(
        built.images.find((i) => i.platform === 'linux/arm64/v8')!.digest,
      );
      const run = await cli(['run', `${dest}:arm64`]);
      expect(run.status).toBe(0);
      expect(run.stdout).toContain('built for linux/arm64/v8:');
    });

    it('fails clearly and fast: closed port, bad reference, unknown layout tag', async () => {
      const port = await freePort();
      const started = Date.now();
      const closed = await cli(['push', `${layout}:latest`, `127.0.0.1:${port}/hello:latest`]);
      expect(closed.status).toBe(1);
      expect(closed.stderr).toMatch(/CONNECTION_REFUSED/);
      expect(closed.stderr).toMatch(/hint: /);
      expect(Date.now() - started).toBeLessThan(30_000);
      const bad = await cli(['push', `${layout}:latest`, `${registry.host}/Hello:latest`]);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/REFERENCE_INVALID/);
      const tag = await cli(['push', `${layout}:nope`, `${registry.host}/hello:latest`]);
      expect(tag.status).toBe(1);
      expect(tag.stderr).toMatch(/tag "nope" not found/);
      const chunk = await cli([
        'push',
        `${layout}:latest`,
        `${registry.host}/hello:latest`,
        '--chunk-size',
        'abc',
      ]);
      expect(chunk.status).toBe(2);
      expect(chunk.stderr).toMatch(/--chunk-size abc: expected a positive number of bytes/);
    });

    it('with Basic auth: the right password from stdin works, a wrong one is UNAUTHORIZED with a hint', async () => {
      const secured = await startRegistry({ auth: 'htpasswd' });
      try {
        const [[user, password]] = Object.entries(secured.users) as [[string, string]];
        const ok = await cli(
          [
            'push',
            `${layout}:latest`,
            `${secured.host}/hello:latest`,
            '-u',
            user,
            '--password-stdin',
            '--json',
          ],
          {
            input: `${password}\n`,
          },
        );
        expect(ok.stderr).toBe('');
        expect(ok.status).toBe(0);
        const wrong = await cli(
          ['push', `${layout}:latest`, `${secured.host}/hello:latest`, '-u', user, '--password-stdin'],
          {
            input: 'not-the-password\n',
          },
        );
        expect(wrong.status).toBe(1);
        expect(wrong.stderr).toMatch(/UNAUTHORIZED/);
        expect(wrong.stderr).toMatch(/hint: /);
        expect(wrong.stderr).not.toContain('not-the-password');
        const none = await cli(['push', `${layout}:latest`, `${secured.host}/hello:latest`], {
          env: { DOCKER_CONFIG: work.path, REGISTRY_USERNAME: '', REGISTRY_PASSWORD: '' },
        });
        expect(none.status).toBe(1);
        expect(none.stderr).toMatch(/UNAUTHORIZED/);
      } finally {
        await secured.stop();
      }
    });
  },
);
