/**
 * The second example end to end: `scratchpack build --c-source` compiles httpd with zig for every platform
 * and packs it; the same image comes out of compile-then-Dockerfile in another folder; each platform's image
 * is started with `scratchpack run` (natively or under qemu-user, oldest CPU of the variant) on 127.0.0.1 and
 * answers HTTP, then stops cleanly on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWithTools, freePort, tempDir } from '@scratchpack/test-utils';
import { compileAll, resolveZig, SUPPORTED_PLATFORMS } from '@scratchpack/toolchain';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { httpdCompileOptions } from '../src/build.ts';

const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const cliBin = join(pkgRoot, '..', '..', 'apps', 'cli', 'bin', 'scratchpack.js');
const qemus = [...new Set(SUPPORTED_PLATFORMS.map((p) => p.qemu))].filter((q) => q !== 'qemu-x86_64-static');

function scratchpack(
  args: string[],
  cwd: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

interface Server {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `scratchpack run` the image for `platform` with a port; resolves once httpd says it is listening. */
async function serve(layout: string, platform: string, port: number): Promise<Server> {
  const child = spawn(
    process.execPath,
    // biome-ignore format: the command line as typed
    [cliBin, 'run', '--network', 'host', '--platform', platform, '--pin-cpu', `${layout}:latest`, '--port', String(port), '--bind', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!out.includes('listening on')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`httpd (${platform}) did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => out, exited };
}

describeWithTools(qemus, 'httpd: a static C server on every platform (zig + qemu-user)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let layout: string;
  let index: string;
  let toolchain: string;

  beforeAll(async () => {
    toolchain = `zig ${resolveZig().version}`;
    work = await tempDir('httpd-');
    layout = join(work.path, 'oci');
    const r = await scratchpack(
      // biome-ignore format: the command line as typed
      ['build', '--c-source', 'src/httpd.c', '-f', 'Dockerfile', '--platform', 'all', '-o', layout, '--json'],
      pkgRoot,
    );
    if (r.status !== 0) throw new Error(`build failed:\n${r.stderr}`);
    index = JSON.parse(r.stdout).index;
    // A cold zig cache builds musl for all fifteen targets first: many minutes on two cores.
  }, 1_800_000);
  afterAll(() => work?.cleanup());

  it('packs every platform, validated, with the toolchain annotation and the Dockerfile config', async () => {
    const r = await scratchpack(['inspect', `${layout}:latest`, '--json'], pkgRoot);
    const info = JSON.parse(r.stdout);
    expect(info.validated).toBe(true);
    expect(info.images.map((i: { platform: string }) => i.platform)).toEqual(
      SUPPORTED_PLATFORMS.map((p) => p.name),
    );
    expect(info.annotations['dev.scratchpack.toolchain']).toBe(toolchain);
    expect(info.images[0].config).toMatchObject({
      Entrypoint: ['/httpd'],
      ExposedPorts: { '8080/tcp': {} },
      User: '65534:65534',
    });
  });

  it('gives the same image as compile + Dockerfile in another folder (reproducible)', async () => {
    const copy = join(work.path, 'elsewhere', 'httpd');
    await mkdir(join(copy, 'src'), { recursive: true });
    await cp(join(pkgRoot, 'src', 'httpd.c'), join(copy, 'src', 'httpd.c'));
    await cp(join(pkgRoot, 'Dockerfile'), join(copy, 'Dockerfile'));
    await compileAll({
      ...httpdCompileOptions(copy),
      platforms: SUPPORTED_PLATFORMS,
      out: (p) => join(copy, 'dist', p.label, 'httpd'),
    });
    const r = await scratchpack(
      // biome-ignore format: the command line as typed
      ['build', 'dist/{label}', '-f', 'Dockerfile', '--platform', 'all', '-o', 'oci', '--json',
        '--annotation', `dev.scratchpack.toolchain=${toolchain}`],
      copy,
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).index).toBe(index);
  });

  it.each(SUPPORTED_PLATFORMS.map((p) => [p.name] as const))(
    'serves its page on 127.0.0.1 under scratchpack run --platform %s, and stops on SIGTERM',
    async (name) => {
      const port = await freePort();
      const server = await serve(layout, name, port);
      try {
        const page = await fetch(`http://127.0.0.1:${port}/`);
        expect(page.status).toBe(200);
        expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
        expect(await page.text()).toContain(`built for ${name}.</p>`);
        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
        const head = await fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD' });
        expect(Number(head.headers.get('content-length'))).toBeGreaterThan(200);
        expect(await head.text()).toBe('');
        expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
        expect((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' })).status).toBe(405);
      } finally {
        server.child.kill('SIGTERM');
      }
      expect(await server.exited).toBe(0);
      expect(server.output()).toMatch(/httpd: 200\n(.*\n)*httpd: stopped\n/);
    },
  );

  it('refuses a bad PORT with status 2', async () => {
    const r = await scratchpack(['run', '-e', 'PORT=http', `${layout}:latest`], pkgRoot);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('httpd: PORT=http is not a port number (1-65535)');
  });
});
