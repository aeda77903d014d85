/**
 * `FROM <parent>`: a local layout (an imported busybox rootfs) and a registry reference (Debian's real
 * docker-registry behind a counting proxy). The parent's layers come first, config and history are
 * inherited as Docker does, the platform is picked from the parent's index, and a second build is served
 * from the cache without a single request; `--pull` asks for the tag again but downloads no blob.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlatform, hostPlatform } from '@scratchpack/oci';
import {
  describeWithTools,
  type FaultProxy,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
  tempDir,
  toolPath,
} from '@scratchpack/test-utils';
import { findPlatform } from '@scratchpack/toolchain';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { helloBinaries } from './hello-fixture.ts';
import { cli } from './helpers.ts';

interface Inspected {
  digest: string;
  annotations?: Record<string, string>;
  images: {
    platform: string;
    digest: string;
    layers: { digest: string }[];
    config: Record<string, unknown>;
  }[];
}

describeWithTools(['docker-registry', 'busybox', 'tar', 'qemu-aarch64-static'], 'FROM parent images', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let env: NodeJS.ProcessEnv;
  const host = formatPlatform(hostPlatform({ os: 'linux' }));
  const run = (args: string[]) => cli(args, { cwd: work.path, env });
  const inspect = async (ref: string) =>
    JSON.parse((await run(['inspect', ref, '--json'])).stdout) as Inspected;
  /** The annotations of manifest `digest` in layout `dir`. */
  const annotationsOf = async (dir: string, digest: string): Promise<Record<string, string>> =>
    JSON.parse(await readFile(join(work.path, dir, 'blobs', 'sha256', digest.slice(7)), 'utf8')).annotations;

  beforeAll(async () => {
    work = await tempDir('parents-');
    env = { XDG_CACHE_HOME: join(work.path, 'cache') };
    // A busybox rootfs, imported: the local parent.
    const root = join(work.path, 'rootfs');
    await mkdir(join(root, 'bin'), { recursive: true });
    await copyFile(toolPath('busybox')!, join(root, 'bin', 'busybox'));
    await symlink('busybox', join(root, 'bin', 'sh'));
    execFileSync('tar', ['-C', root, '-cf', join(work.path, 'rootfs.tar'), '.']);
    // biome-ignore format: the command line as typed
    const imp = await run(['import', 'rootfs.tar', './base:bb', '--platform', host,
      '-c', 'CMD ["/bin/sh", "-c", "echo $X"]', '-c', 'ENV X=from-parent', '-c', 'WORKDIR /']);
    if (imp.status !== 0) throw new Error(imp.stderr);
    // hello for amd64 + arm64 with ENV/CMD: the registry parent.
    const hello = await helloBinaries([findPlatform('linux/amd64'), findPlatform('linux/arm64')]);
    await writeFile(
      join(work.path, 'parent.Dockerfile'),
      'FROM scratch\nCOPY hello /\nENV A=1\nCMD ["/hello"]\n',
    );
    // biome-ignore format: the command line as typed
    const parent = await run(['build', '--binary', `linux/amd64=${join(hello, 'linux-amd64', 'hello')}`,
      '--binary', `linux/arm64=${join(hello, 'linux-arm64-v8', 'hello')}`, '-f', 'parent.Dockerfile', '-o', 'multi']);
    if (parent.status !== 0) throw new Error(parent.stderr);
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    const push = await run(['push', 'multi:latest', `${registry.host}/parent:1`]);
    if (push.status !== 0) throw new Error(push.stderr);
    await mkdir(join(work.path, 'ctx'), { recursive: true });
    await writeFile(join(work.path, 'ctx', 'note.txt'), 'a note\n');
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    await work?.cleanup();
  });

  it('FROM oci:<layout>:<tag> puts the parent layers first and inherits Env, Cmd and history', async () => {
    await writeFile(
      join(work.path, 'ctx', 'Dockerfile'),
      'FROM oci:base:bb\nCOPY note.txt /etc/note\nENV Y=2\n',
    );
    const r = await run(['build', 'ctx', '--platform', host, '-o', 'child']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [parent, child] = [
      (await inspect('base:bb')).images[0]!,
      (await inspect('child:latest')).images[0]!,
    ];
    expect(child.layers).toHaveLength(2);
    expect(child.layers[0]!.digest).toBe(parent.layers[0]!.digest);
    expect(child.config).toMatchObject({ Env: ['X=from-parent', 'Y=2'], Cmd: ['/bin/sh', '-c', 'echo $X'] });
    expect(await annotationsOf('child', child.digest)).toMatchObject({
      'org.opencontainers.image.base.name': 'oci:base:bb',
      'org.opencontainers.image.base.digest': parent.digest,
    });
    const manifest = JSON.parse(
      await readFile(join(work.path, 'child', 'blobs', 'sha256', child.digest.slice(7)), 'utf8'),
    );
    const config = JSON.parse(
      await readFile(join(work.path, 'child', 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8'),
    );
    expect(config.history.map((h: { created_by: string }) => h.created_by)).toEqual([
      'scratchpack import',
      'COPY note.txt /etc/note # buildkit',
      'ENV Y=2',
    ]);
    const out = await run(['run', 'child:latest']);
    expect(out.stdout).toBe('from-parent\n');
    const note = await run(['run', 'child:latest', '--', '/bin/busybox', 'cat', 'etc/note']);
    expect(note.stdout).toBe('a note\n');
    const raw = JSON.parse(await readFile(join(work.path, 'child', 'index.json'), 'utf8'));
    // One image; beside it its SBOMs and provenance, which name the parent by digest.
    expect(raw.manifests.filter((m: { artifactType?: string }) => !m.artifactType)).toHaveLength(1);
    const sbom = await run(['sbom', 'child:latest', '--platform', host]);
    const parentPackage = JSON.parse(sbom.stdout).packages.find(
      (p: { name: string }) => p.name === 'oci:base:bb',
    );
    expect(parentPackage.versionInfo).toBe(parent.digest);
  });

  it('ENTRYPOINT in the child resets the inherited CMD, as Docker does', async () => {
    await writeFile(
      join(work.path, 'ctx', 'Dockerfile.ep'),
      'FROM oci:base:bb\nENTRYPOINT ["/bin/busybox"]\n',
    );
    const r = await run(['build', 'ctx', '-f', 'ctx/Dockerfile.ep', '--platform', host, '-o', 'ep']);
    expect(r.status).toBe(0);
    const { config } = (await inspect('ep:latest')).images[0]!;
    expect(config.Entrypoint).toEqual(['/bin/busybox']);
    expect(config.Cmd).toBeUndefined();
  });

  it('names the platforms a local parent has when the target is missing', async () => {
    const r = await run(['build', 'ctx', '--platform', 'linux/riscv64', '-o', 'nope']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /Dockerfile:1:6: FROM: cannot use oci:base:bb: oci:base:bb has no image for linux\/riscv64/,
    );
    expect(r.stderr).toContain(`hint: pick one of: ${host}`);
  });

  it('FROM a registry reference: pulls only the platforms built, then builds from the cache with no request', async () => {
    await writeFile(
      join(work.path, 'ctx', 'Dockerfile.reg'),
      `FROM ${proxy.host}/parent:1\nCOPY note.txt /note\nENV B=2\n`,
    );
    const build = () =>
      run([
        'build',
        'ctx',
        '-f',
        'ctx/Dockerfile.reg',
        '--platform',
        'linux/amd64,linux/arm64',
        '-o',
        'from-reg',
        '--json',
      ]);
    const first = await build();
    expect(first.status).toBe(0);
    // Per platform: the child manifest, then its config and one layer.
    expect(first.stderr).toMatch(/pulled .*\/parent:1 \(linux\/arm64\/v8\): 2 blobs fetched/);
    expect(proxy.count('GET', '/blobs/')).toBe(4);
    const parent = await inspect('multi:latest');
    const child = await inspect('from-reg:latest');
    for (const [i, img] of child.images.entries()) {
      expect(img.layers[0]!.digest).toBe(parent.images[i]!.layers[0]!.digest);
      expect(img.config).toMatchObject({
        Env: [expect.stringMatching(/^PATH=/), 'A=1', 'B=2'],
        Cmd: ['/hello'],
      });
      expect((await annotationsOf('from-reg', img.digest))['org.opencontainers.image.base.digest']).toBe(
        parent.images[i]!.digest,
      );
    }
    const hello = await run(['run', '--platform', 'linux/arm64', 'from-reg:latest']);
    expect(hello.stdout).toContain('built for linux/arm64/v8:');

    proxy.reset();
    const second = await build();
    expect(second.stderr).toBe('');
    expect(JSON.parse(second.stdout).index).toBe(JSON.parse(first.stdout).index);
    expect(proxy.requests).toEqual([]);

    const refreshed = await run([
      'build',
      'ctx',
      '-f',
      'ctx/Dockerfile.reg',
      '--platform',
      'linux/amd64,linux/arm64',
      '-o',
      'from-reg',
      '--pull',
      '--json',
    ]);
    expect(JSON.parse(refreshed.stdout).index).toBe(JSON.parse(first.stdout).index);
    expect(proxy.count('GET', '/manifests/1')).toBe(1);
    expect(proxy.count('GET', '/blobs/')).toBe(0);
  });

  it('--pull follows a moved tag; without it the cached digest is kept', async () => {
    const df = join('ctx', 'Dockerfile.tag');
    await writeFile(join(work.path, df), `FROM ${proxy.host}/moving:v\n`);
    const push = (layout: string) => run(['push', `${layout}:latest`, `${registry.host}/moving:v`]);
    const base = (args: string[] = []) =>
      run(['build', 'ctx', '-f', df, '--platform', 'linux/amd64', '-o', 'moving', ...args]);
    const parentOf = async () =>
      (await annotationsOf('moving', (await inspect('moving:latest')).images[0]!.digest))[
        'org.opencontainers.image.base.digest'
      ];
    expect((await push('multi')).status).toBe(0);
    expect((await base()).status).toBe(0);
    const before = await parentOf();
    expect((await push('child')).status).toBe(0);
    expect((await base()).status).toBe(0);
    expect(await parentOf()).toBe(before);
    expect((await base(['--pull'])).status).toBe(0);
    expect(await parentOf()).toBe((await inspect('child:latest')).images[0]!.digest);
  });

  it('pins by digest, and lists the platforms a registry parent has when the target is missing', async () => {
    const digest = (await inspect('multi:latest')).digest;
    await writeFile(join(work.path, 'ctx', 'Dockerfile.pin'), `FROM ${proxy.host}/parent@${digest}\n`);
    const ok = await run([
      'build',
      'ctx',
      '-f',
      'ctx/Dockerfile.pin',
      '--platform',
      'linux/amd64',
      '-o',
      'pinned',
    ]);
    expect(ok.status).toBe(0);
    const missing = await run([
      'build',
      'ctx',
      '-f',
      'ctx/Dockerfile.pin',
      '--platform',
      'linux/riscv64',
      '-o',
      'pinned',
    ]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/FROM: cannot use .*has no image for linux\/riscv64/);
    expect(missing.stderr).toMatch(/hint: available: linux\/amd64, linux\/arm64\/v8/);
  });
});
