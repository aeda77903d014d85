/**
 * One name, one image, verified — against Debian's docker-registry on loopback and a private store:
 * a swapped layer makes `verify` fail and `run` refuse it; a stored image named like a registry image is what
 * `verify` and `run` both use; `sign`/`verify`/`sbom` take store names and `oci:` layouts; `copy` keeps the
 * index digest and the referrers from a layout to a registry, into the store and out to another repository;
 * a second pull downloads no blob; `build -o HOST/REPO:TAG` pushes and writes no directory; `inspect` reads a
 * registry image; `login`/`logout` keep Docker's config.json; a name that is nothing says what was tried.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describeWithTools,
  type RunningRegistry,
  startRegistry,
  tempDir,
  toolPath,
} from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from './helpers.ts';

describeWithTools(
  ['docker-registry', 'busybox', 'bwrap', 'htpasswd'],
  'one name, one image (transport)',
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let registry: RunningRegistry;
    let env: NodeJS.ProcessEnv;
    let layout: string;
    let index: string;
    const sp = (args: string[], input?: string) =>
      cli(args, { cwd: work.path, env, ...(input ? { input } : {}) });
    const ok = async (args: string[]) => {
      const r = await sp(args);
      if (r.status !== 0) throw new Error(`${args.join(' ')} → ${r.status}\n${r.stderr}`);
      return r;
    };

    beforeAll(async () => {
      work = await tempDir('transport-');
      // As root the container runs as nobody, which must reach the rootfs cache below.
      await chmod(work.path, 0o755);
      registry = await startRegistry();
      env = {
        SCRATCHPACK_STORE: join(work.path, 'store'),
        DOCKER_CONFIG: join(work.path, 'docker'),
        // A cache of its own: `run` reads (and checks) a layer's blob only when the layer is not cached yet.
        SCRATCHPACK_ROOTFS_CACHE: join(work.path, 'rootfs-cache'),
        SOURCE_DATE_EPOCH: '0',
      };
      const ctx = join(work.path, 'ctx');
      await mkdir(ctx);
      await copyFile(toolPath('busybox')!, join(ctx, 'busybox'));
      await writeFile(
        join(ctx, 'Dockerfile'),
        'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\n',
      );
      const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await writeFile(join(work.path, 'k.pem'), k.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      await writeFile(join(work.path, 'k.pub'), k.publicKey.export({ type: 'spki', format: 'pem' }));
      layout = join(work.path, 'oci');
      const built = await ok([
        'build',
        ctx,
        '--platform',
        'linux/amd64,linux/arm64',
        // The host's busybox in both images: only the bytes matter here.
        '--allow-foreign-binaries',
        '-o',
        layout,
        '-t',
        'latest',
        '--json',
      ]);
      index = JSON.parse(built.stdout).index;
    }, 600_000);
    afterAll(async () => {
      await registry?.stop();
      await work?.cleanup();
    });

    const referrerCount = async (ref: string) =>
      JSON.parse((await ok(['inspect', ref, '--json'])).stdout).referrers.length;

    it('a swapped layer: verify exits 1 naming the blob, run refuses it and runs nothing', async () => {
      const dir = join(work.path, 'swapped');
      await ok(['copy', `oci:${layout}:latest`, `oci:${dir}:latest`]);
      await ok(['sign', `oci:${dir}:latest`, '--key', join(work.path, 'k.pem')]);
      expect((await sp(['verify', `${dir}:latest`, '--key', join(work.path, 'k.pub')])).status).toBe(0);
      const amd64 = JSON.parse((await ok(['inspect', `${dir}:latest`, '--json'])).stdout).images.find(
        (i: { platform: string }) => i.platform === 'linux/amd64',
      );
      const layer = amd64.layers[0].digest as string;
      // Another gzip tar under the same name: a program that prints a marker instead of busybox.
      const evil = join(work.path, 'evil');
      await mkdir(join(evil, 'bin'), { recursive: true });
      await writeFile(join(evil, 'bin', 'busybox'), '#!/bin/sh\necho SUBSTITUTED\n', { mode: 0o755 });
      const tgz = join(work.path, 'evil.tgz');
      const { execFileSync } = await import('node:child_process');
      execFileSync('tar', ['-C', evil, '-czf', tgz, 'bin']);
      await copyFile(tgz, join(dir, 'blobs', 'sha256', layer.slice(7)));

      const verify = await sp(['verify', `${dir}:latest`, '--key', join(work.path, 'k.pub')]);
      expect(verify.status).toBe(1);
      expect(verify.stderr).toContain(layer);
      expect(verify.stderr).toMatch(/ATTEST_VERIFY_FAILED/);
      const run = await sp(['run', '--platform', 'linux/amd64', `${dir}:latest`, 'echo', 'hi']);
      expect(run.status).not.toBe(0);
      expect(run.stdout).not.toContain('SUBSTITUTED');
      expect(run.stderr).toMatch(/OCI_(SIZE|DIGEST)_MISMATCH/);
      // push and save refuse it too, naming the digest.
      const push = await sp(['push', `${dir}:latest`, `${registry.host}/swapped:1`]);
      expect(push.status).not.toBe(0);
      expect(push.stderr).toContain(layer.slice(7, 19));
    });

    it('copy: layout → registry → store → another repository, same index digest and referrers at every hop', async () => {
      await ok(['sign', layout, '--key', join(work.path, 'k.pem')]);
      const want = await referrerCount(`oci:${layout}:latest`);
      expect(want).toBeGreaterThanOrEqual(5); // SBOMs, provenance, signatures of the index and both images
      const a = `${registry.host}/copy/a:1`;
      const first = JSON.parse((await ok(['copy', `oci:${layout}:latest`, a, '--json'])).stdout);
      expect(first.digest).toBe(index);
      expect(first.referrers).toBe(want);
      expect(await referrerCount(`docker://${a}`)).toBe(want);
      const stored = JSON.parse((await ok(['copy', a, `store:${a}`, '--json'])).stdout);
      expect(stored.digest).toBe(index);
      expect(stored.blobsFetched).toBeGreaterThan(0);
      expect(await referrerCount(`store:${a}`)).toBe(want);
      const b = `${registry.host}/copy/b:2`;
      expect(JSON.parse((await ok(['copy', `store:${a}`, b, '--json'])).stdout).digest).toBe(index);
      expect(await referrerCount(b)).toBe(want);
      // inspect of a registry image without pulling it: its digest.
      const inspected = await ok(['inspect', b]);
      expect(inspected.stdout).toContain(`digest: ${index}`);
      expect((await ok(['inspect', b, '--raw'])).stdout).toBe(
        await readFile(join(layout, 'blobs', 'sha256', index.slice(7)), 'utf8'),
      );
      // A second pull of the same image into the store fetches nothing.
      const again = JSON.parse((await ok(['pull', a, '--json'])).stdout);
      expect(again.blobsFetched).toBe(0);
      expect(again.blobsWritten).toBe(0);
      // sign, verify and sbom take store names and oci: layouts.
      expect((await sp(['verify', a, '--key', join(work.path, 'k.pub')])).status).toBe(0);
      expect((await sp(['verify', `oci:${layout}:latest`, '--key', join(work.path, 'k.pub')])).status).toBe(
        0,
      );
      const sbom = await sp(['sbom', a, '--platform', 'linux/amd64']);
      expect(sbom.status).toBe(0);
      expect(JSON.parse(sbom.stdout).spdxVersion).toBe('SPDX-2.3');
    });

    it('one name, two images: verify checks the image run would run, and says which', async () => {
      const name = `${registry.host}/two/x:1`;
      await ok(['copy', `oci:${layout}:latest`, name]);
      await ok(['sign', `docker://${name}`, '--key', join(work.path, 'k.pem')]);
      // A different, unsigned image in the store under the same name.
      const tar = join(work.path, 'other.tar');
      const { execFileSync } = await import('node:child_process');
      execFileSync('tar', ['-C', join(work.path, 'ctx'), '-cf', tar, 'busybox']);
      await ok(['import', tar, name]);
      const verify = await sp(['verify', name, '--key', join(work.path, 'k.pub')]);
      expect(verify.status).toBe(1);
      expect(verify.stdout).toContain(`store ${name}`);
      expect(verify.stderr).toMatch(/no signature/);
      // The registry copy is still verifiable when named explicitly.
      const remote = await sp(['verify', `docker://${name}`, '--key', join(work.path, 'k.pub')]);
      expect(remote.status).toBe(0);
      expect(remote.stdout).toContain(`registry ${name}, ${index}`);
    });

    it('build -o HOST:PORT/repo:tag pushes and writes no local directory', async () => {
      const target = `${registry.host}/built/app:7`;
      const r = await ok(['build', join(work.path, 'ctx'), '--platform', 'linux/amd64', '-o', target]);
      expect(r.stdout).toMatch(/pushed .*built\/app/);
      await expect(stat(join(work.path, registry.host.split(':')[0]!))).rejects.toThrow();
      expect((await readdir(work.path)).some((n) => n.startsWith('127.0.0.1'))).toBe(false);
      expect((await ok(['inspect', target])).stdout).toMatch(/digest: sha256:/);
      // oci:PATH is a layout at PATH, never a directory named "oci:".
      await ok([
        'build',
        join(work.path, 'ctx'),
        '--platform',
        'linux/amd64',
        '-o',
        `oci:${join(work.path, 'viaprefix')}`,
      ]);
      expect((await stat(join(work.path, 'viaprefix', 'oci-layout'))).isFile()).toBe(true);
      expect((await readdir(work.path)).includes('oci:')).toBe(false);
    });

    it('a name that is nothing: one error listing what was tried', async () => {
      // (Only loopback here: a name without a host would be looked up on Docker Hub, as docker run does.)
      const name = `${registry.host}/no/such:1`;
      const r = await sp(['inspect', name]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/TRANSPORT_NOT_FOUND/);
      expect(r.stderr).toContain(`no layout or archive at ${join(work.path, registry.host)}`);
      expect(r.stderr).toContain(`no image ${name} in the local store`);
      expect(r.stderr).toMatch(/registry: .*MANIFEST_UNKNOWN|registry: .*NAME_UNKNOWN/);
      const path = await sp(['inspect', './dist/no-such-layout:latest']);
      expect(path.status).not.toBe(0);
      expect(path.stderr).toMatch(/OCI_LAYOUT_NOT_FOUND/);
      const bad = await sp(['run', 'Not/A:Name!']);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/TRANSPORT_INVALID_REFERENCE/);
    });

    it('login checks and saves credentials in config.json, logout removes them; wrong and missing differ', async () => {
      const auth = await startRegistry({ auth: 'htpasswd', users: { tester: 'right-pass' } });
      try {
        const wrong = await sp(['login', auth.host, '-u', 'tester', '--password-stdin'], 'not-it');
        expect(wrong.status).not.toBe(0);
        expect(wrong.stderr).toMatch(/refused the password/);
        const missing = await sp(['copy', `oci:${layout}:latest`, `${auth.host}/p:1`]);
        expect(missing.status).not.toBe(0);
        expect(missing.stderr).toMatch(/no credentials for .*scratchpack login/);
        const login = await sp(['login', auth.host, '-u', 'tester', '--password-stdin'], 'right-pass');
        expect(login.status, login.stderr).toBe(0);
        const saved = JSON.parse(await readFile(join(work.path, 'docker', 'config.json'), 'utf8'));
        expect(Object.keys(saved.auths)).toContain(auth.host);
        expect((await stat(join(work.path, 'docker', 'config.json'))).mode & 0o777).toBe(0o600);
        expect((await sp(['copy', `oci:${layout}:latest`, `${auth.host}/p:1`])).status).toBe(0);
        await ok(['logout', auth.host]);
        const after = JSON.parse(await readFile(join(work.path, 'docker', 'config.json'), 'utf8'));
        expect(Object.keys(after.auths)).not.toContain(auth.host);
      } finally {
        await auth.stop();
      }
    });
  },
);
