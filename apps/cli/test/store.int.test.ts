/**
 * The seed's commands verbatim, with `scratchpack` in place of `docker`, against a private local store:
 * `tar -C rootfs -c . | scratchpack import - focal`, `scratchpack build --tag hello .` in a folder holding
 * exactly the seed's Dockerfile and a static hello, `scratchpack run --rm hello`, `scratchpack images`,
 * `scratchpack run focal cat /etc/os-release`; then tag, save (file and stdout), load, rmi with blob
 * collection, and skopeo/umoci reading the store as the OCI layout it is.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlatform, hostPlatform, validateLayout } from '@scratchpack/oci';
import { describeWithTools, startRegistry, tempDir, toolPath } from '@scratchpack/test-utils';
import { findPlatform } from '@scratchpack/toolchain';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { helloBinaries } from './hello-fixture.ts';
import { cli, cliBin } from './helpers.ts';

/** This host's platform, as the CLI defaults --platform to it. */
const HOST = formatPlatform(hostPlatform({ os: 'linux' }));
const SEED_DOCKERFILE = 'FROM scratch\nADD hello /\nCMD ["/hello"]\n';

describeWithTools(
  ['busybox', 'tar', 'skopeo', 'umoci', 'docker-registry', 'bwrap'],
  "the seed's commands, verbatim",
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let env: NodeJS.ProcessEnv;
    let store: string;
    const sp = (args: string[], cwd?: string, input?: Buffer) =>
      cli(args, { cwd: cwd ?? work.path, env, ...(input ? { input } : {}) });
    /** A shell pipeline as a user types it, `scratchpack` being the CLI under test. */
    const sh = (script: string, cwd: string) =>
      spawnSync('sh', ['-c', script], {
        cwd,
        env: { ...process.env, ...env, SP: `${process.execPath} ${cliBin}` },
        encoding: 'utf8',
      });
    const blobCount = async () => (await readdir(join(store, 'blobs', 'sha256'))).length;

    beforeAll(async () => {
      work = await tempDir('store-');
      store = join(work.path, 'share', 'scratchpack', 'images');
      // The default location, under XDG_DATA_HOME (SCRATCHPACK_STORE unset). The rootfs cache in here too: rmi
      // collects it (root's default, /var/cache/scratchpack/rootfs, is the machine's); reachable by the
      // container user a root caller runs as.
      await chmod(work.path, 0o755);
      env = {
        XDG_DATA_HOME: join(work.path, 'share'),
        SCRATCHPACK_STORE: '',
        SCRATCHPACK_ROOTFS_CACHE: join(work.path, 'rootfs-cache'),
      };
      const rootfs = join(work.path, 'rootfs');
      await mkdir(join(rootfs, 'bin'), { recursive: true });
      await mkdir(join(rootfs, 'etc'), { recursive: true });
      await copyFile(toolPath('busybox')!, join(rootfs, 'bin', 'busybox'));
      for (const n of ['sh', 'cat']) await symlink('busybox', join(rootfs, 'bin', n));
      await writeFile(
        join(rootfs, 'etc', 'os-release'),
        'NAME="Focal Fossa (scratchpack test)"\nID=focal-test\n',
      );
      const ctx = join(work.path, 'hello');
      await mkdir(ctx, { recursive: true });
      const host = findPlatform(HOST);
      await copyFile(join(await helloBinaries([host]), host.label, 'hello'), join(ctx, 'hello'));
      await writeFile(join(ctx, 'Dockerfile'), SEED_DOCKERFILE);
    }, 300_000);
    afterAll(() => work?.cleanup());

    it('tar -C rootfs -c . | scratchpack import - focal', () => {
      const r = sh('tar -C rootfs -c . | $SP import - focal', work.path);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('as focal:latest');
    });

    it('scratchpack build --tag hello . (the folder holds exactly Dockerfile and hello)', async () => {
      const ctx = join(work.path, 'hello');
      expect((await readdir(ctx)).sort()).toEqual(['Dockerfile', 'hello']);
      const r = sh('$SP build --tag hello .', ctx);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('stored hello:latest in the local store');
    });

    it('scratchpack run --rm hello prints hello’s message', async () => {
      const r = sh('$SP run --rm hello', work.path);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`This message comes from a FROM-scratch image built for ${HOST}`);
    });

    it('scratchpack images lists both, and --json agrees with the store', async () => {
      const r = sh('$SP images', work.path);
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^NAME\s+DIGEST\s+PLATFORMS\s+SIZE\s+CREATED$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['focal:latest', 'hello:latest']);
      const json = JSON.parse((await sp(['images', '--json'])).stdout);
      expect(json.store).toBe(store);
      const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8'));
      const named = Object.fromEntries(
        index.manifests.map((m: { digest: string; annotations: Record<string, string> }) => [
          m.annotations['org.opencontainers.image.ref.name'],
          m,
        ]),
      );
      for (const img of json.images) {
        expect(img.digest).toBe(named[img.name].digest);
        expect(img.platforms).toEqual([HOST]);
      }
      expect(named['focal:latest'].annotations['io.containerd.image.name']).toBe(
        'docker.io/library/focal:latest',
      );
    });

    it('scratchpack run focal cat /etc/os-release prints the image’s file, not the host’s', async () => {
      const r = sh('$SP run focal cat /etc/os-release', work.path);
      expect([r.status, r.stdout]).toEqual([0, 'NAME="Focal Fossa (scratchpack test)"\nID=focal-test\n']);
      const missing = await sp(['run', 'focal', '--', '/bin/not-there']);
      expect(missing.status).toBe(127);
      expect(missing.stderr).toContain('not found in the image');
    });

    it('the store is an OCI layout other tools read (skopeo, umoci)', async () => {
      const report = await validateLayout(store, { tag: 'hello:latest' });
      expect(report.problems).toEqual([]);
      const raw = execFileSync('skopeo', ['inspect', '--raw', `oci:${store}:hello:latest`]).toString();
      expect(JSON.parse(raw).mediaType).toBe('application/vnd.oci.image.index.v1+json');
      const ls = execFileSync('umoci', ['ls', '--layout', store]).toString().trim().split('\n');
      expect(ls.sort()).toEqual(['focal:latest', 'hello:latest']);
    });

    it('tag, save (file and stdout), rmi with blob collection, load back', async () => {
      expect((await sp(['tag', 'hello', 'hello:1.0', 'ghcr.io/me/hello:2'])).status).toBe(0);
      const before = await blobCount();
      const save = await sp(['save', 'hello:1.0', 'focal', '-o', 'both.tar']);
      expect(save.status).toBe(0);
      const toStdout = sh('$SP save hello > hello.tar', work.path);
      expect(toStdout.status).toBe(0);
      const viaSkopeo = execFileSync('skopeo', [
        'inspect',
        '--raw',
        `oci-archive:${join(work.path, 'hello.tar')}:hello:latest`,
      ]);
      expect(JSON.parse(viaSkopeo.toString()).manifests).toHaveLength(1);

      const artifactEntries = async () =>
        (
          JSON.parse(await readFile(join(store, 'index.json'), 'utf8')).manifests as {
            artifactType?: string;
          }[]
        ).filter((m) => m.artifactType).length;
      const referrersBefore = await artifactEntries();
      const rmi = await sp(['rmi', 'focal', 'hello:1.0', '--json']);
      expect(rmi.status).toBe(0);
      const removed = JSON.parse(rmi.stdout);
      expect(removed.removed).toEqual(['focal:latest', 'hello:1.0']);
      // focal's index, manifest, config and layer went, and with them its SBOMs and provenance (a manifest and
      // a document each; the empty config blob is shared); hello's blobs stay (still named hello, ghcr.io/me/hello:2).
      const focalReferrers = referrersBefore - (await artifactEntries());
      expect(focalReferrers).toBe(3);
      expect(removed.blobsRemoved).toBe(4 + 2 * focalReferrers);
      expect(await blobCount()).toBe(before - 4 - 2 * focalReferrers);
      expect((await sp(['run', 'hello'])).status).toBe(0);
      // (store: so that nothing is looked up on Docker Hub: a plain name not in the store would be, as docker does.)
      const gone = await sp(['run', 'store:focal']);
      expect(gone.status).toBe(1);
      expect(gone.stderr).toMatch(
        /^error \[STORE_IMAGE_NOT_FOUND\]: no image named focal in the local store\nhint: /,
      );

      const load = sh('$SP load < both.tar', work.path);
      expect(load.stderr).toBe('');
      expect(load.stdout.trim().split('\n').sort()).toEqual(['loaded focal:latest', 'loaded hello:1.0']);
      expect(await blobCount()).toBe(before);
      expect((await validateLayout(store, { tag: 'focal:latest' })).problems).toEqual([]);
      const names = JSON.parse((await sp(['images', '--json'])).stdout).images.map(
        (i: { name: string }) => i.name,
      );
      expect(names).toEqual(['focal:latest', 'ghcr.io/me/hello:2', 'hello:1.0', 'hello:latest']);
    });

    it('load: bare-tagged archives need --name, gzip is read, junk is refused leaving nothing behind', async () => {
      const ctx = join(work.path, 'hello');
      expect((await sp(['build', '.', '-o', '../bare.tar', '-t', '1.0'], ctx)).status).toBe(0);
      const bare = await sp(['load', '-i', 'bare.tar']);
      expect(bare.status).toBe(1);
      expect(bare.stderr).toContain(
        'tagged "1.0" without a repository name; name one with --name REPOSITORY',
      );
      expect((await sp(['load', '--name', 'me/hello', '-i', 'bare.tar'])).stdout).toBe(
        'loaded me/hello:1.0\n',
      );
      const gz = sh('gzip -c bare.tar | $SP load --name gz', work.path);
      expect(gz.stdout).toBe('loaded gz:1.0\n');
      const junk = await sp(['load'], work.path, Buffer.from('not a tar at all'));
      expect(junk.status).toBe(1);
      expect(junk.stderr).toContain('[STORE_INVALID_ARCHIVE]');
      expect(await readdir(store)).toEqual(['blobs', 'index.json', 'oci-layout']);
      // A Docker Hub name with a `/` looks like a path; with no such path, the stored image is used.
      expect((await sp(['run', 'me/hello:1.0'])).status).toBe(0);
      expect((await sp(['inspect', 'me/hello:1.0'])).stdout).toContain('me/hello:1.0');
      expect((await sp(['rmi', 'me/hello:1.0', 'gz:1.0'])).status).toBe(0);
      expect((await sp(['run', 'store:me/hello:1.0'])).stderr).toContain('[STORE_IMAGE_NOT_FOUND]');
    });

    it('paths and oci: forms stay layouts; unknown names get a clear error', async () => {
      const built = await sp(['build', '.', '-o', 'out', '-t', 'v1'], join(work.path, 'hello'));
      expect(built.status).toBe(0);
      for (const ref of [
        'hello/out:v1',
        './hello/out:v1',
        `oci:hello/out:v1`,
        join(work.path, 'hello', 'out'),
      ]) {
        const r = await sp(['run', ref]);
        expect(r.stderr, ref).toBe('');
        expect(r.status, ref).toBe(0);
      }
      const noOut = await sp(['build', '.'], join(work.path, 'hello'));
      expect(noOut.status).toBe(2);
      expect(noOut.stderr).toContain('no --output and no --tag given');
      const bad = await sp(['build', '.', '-t', 'Hello'], join(work.path, 'hello'));
      expect(bad.stderr).toContain('[STORE_INVALID_NAME]');
      const unknown = await sp(['inspect', 'store:nothing-here:1']);
      expect(unknown.stderr).toContain('no image named nothing-here:1 in the local store');
      const noLayout = await sp(['inspect', './missing/dir:latest']);
      expect(noLayout.stderr).toContain('[OCI_LAYOUT_NOT_FOUND]');
    });

    it('push NAME / pull NAME alone use the stored name, byte for byte', async () => {
      const registry = await startRegistry();
      try {
        const name = `${registry.host}/seed/hello:1`;
        expect((await sp(['tag', 'hello', name])).status).toBe(0);
        const r = await sp(['push', name, '--json']);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        const digest = JSON.parse(r.stdout).digest as string;
        expect(digest).toBe(
          JSON.parse((await sp(['images', '--json'])).stdout).images.find(
            (i: { name: string }) => i.name === name,
          ).digest,
        );
        const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`]);
        expect(raw.equals(await readFile(join(store, 'blobs', 'sha256', digest.slice(7))))).toBe(true);
        // docker pull NAME: into the store under the reference's name, same digest, runnable.
        expect((await sp(['rmi', name])).status).toBe(0);
        const pulled = await sp(['pull', name]);
        expect(pulled.stderr).toBe('');
        expect(pulled.stdout).toContain(`to store ${name}`);
        const listed = JSON.parse((await sp(['images', '--json'])).stdout).images;
        expect(listed.find((i: { name: string }) => i.name === name).digest).toBe(digest);
        expect((await sp(['run', name])).status).toBe(0);
        expect((await sp(['pull', name, 'hello:pulled'])).status).toBe(0);
        expect((await sp(['inspect', 'hello:pulled', '--json'])).status).toBe(0);
        expect(await readdir(store)).toEqual(['blobs', 'index.json', 'oci-layout']);
        const layoutPush = await sp(['push', './hello/out:v1']);
        expect(layoutPush.status).toBe(2);
        expect(layoutPush.stderr).toContain('is layout ./hello/out:v1: say where to push it');
      } finally {
        await registry.stop();
      }
    });
  },
);
