/**
 * `pnpm build:images` on a turbo cache hit keeps what `sign` added: turbo restores `dist/oci/index.json` as the
 * images task wrote it, and scripts/build-images.sh (through build-images.mjs and build-images.ts) puts the signatures back. Real turbo and the real CLI, on a
 * one-package (npm) workspace whose `images` task builds a tiny layout into `$TURBO_ROOT$/dist/oci` (as hello's does).
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cliBin = join(root, 'apps', 'cli', 'bin', 'scratchpack.js');
const turboBin = join(root, 'node_modules', '.bin', 'turbo');

describe('build:images after sign (turbo cache hit)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let ws: string;
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [cliBin, ...args], { cwd: ws, encoding: 'utf8' });
  const entries = async () =>
    (JSON.parse(await readFile(join(ws, 'dist', 'oci', 'index.json'), 'utf8')) as { manifests: unknown[] })
      .manifests.length;
  const turboEnv = () => ({ TURBO_TELEMETRY_DISABLED: '1', TURBO_CACHE_DIR: join(work.path, 'turbo-cache') });
  // What `pnpm build:images` runs, in the workspace (its layouts are those of the directory it runs in).
  const buildImages = () =>
    spawnSync('sh', [join(root, 'scripts', 'build-images.sh')], {
      cwd: ws,
      env: { ...process.env, ...turboEnv() },
      encoding: 'utf8',
    });

  beforeAll(async () => {
    work = await tempDir('images-signatures-');
    ws = join(work.path, 'ws');
    const pkg = join(ws, 'packages', 'img');
    await mkdir(join(pkg, 'ctx'), { recursive: true });
    // npm workspaces: unlike pnpm, npm writes no lock file when turbo runs the task (that would change the hash).
    const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' }).stdout.trim();
    await writeFile(
      join(ws, 'package.json'),
      JSON.stringify({ name: 'ws', private: true, packageManager: `npm@${npm}`, workspaces: ['packages/*'] }),
    );
    await writeFile(
      join(ws, 'turbo.json'),
      JSON.stringify({
        tasks: { images: { inputs: ['ctx/**', 'package.json'], outputs: ['$TURBO_ROOT$/dist/oci/**'] } },
      }),
    );
    const build = `node ${cliBin} build ctx -o ../../dist/oci -t latest --platform linux/amd64 --no-sbom --no-provenance`;
    await writeFile(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'img', private: true, scripts: { images: build } }),
    );
    await writeFile(join(pkg, 'ctx', 'Dockerfile'), 'FROM scratch\nCOPY f /\n');
    await writeFile(join(pkg, 'ctx', 'f'), 'hi\n');
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(work.path, 'k.pem'), k.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(work.path, 'k.pub'), k.publicKey.export({ type: 'spki', format: 'pem' }));
  });
  afterAll(() => work?.cleanup());

  it('sign, then a cached build:images, then verify: the signatures are still there', async () => {
    const env = turboEnv();
    Object.assign(process.env, env);
    try {
      expect(buildImages().status).toBe(0); // a cache miss: the images task runs
      expect(await entries()).toBe(1);
      const sign = () =>
        expect(cli(['sign', 'dist/oci:latest', '--key', join(work.path, 'k.pem')]).status).toBe(0);
      const verify = () => cli(['verify', 'dist/oci:latest', '--key', join(work.path, 'k.pub')]);
      sign();
      expect(verify().status).toBe(0);
      expect(await entries()).toBe(3); // the index and the platform manifest, each signed

      // The problem: plain turbo restores index.json from its cache, without the signatures.
      const plain = spawnSync(turboBin, ['run', 'images'], {
        cwd: ws,
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
      expect(plain.stdout + plain.stderr).toMatch(/FULL TURBO/);
      expect(await entries()).toBe(1);
      expect(verify().status).not.toBe(0);

      // build:images: the same cache hit, and the signatures are put back.
      sign();
      const again = buildImages();
      expect(again.status).toBe(0);
      expect(again.stdout).toMatch(/FULL TURBO/);
      expect(again.stdout).toContain('kept 2 referrer(s) added to dist/oci');
      expect(await entries()).toBe(3);
      const v = verify();
      expect(v.stderr).toBe('');
      expect(v.status).toBe(0);
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
    }
  }, 120_000);

  it('a cached build:images whose index is unchanged starts no Node process; a failing turbo fails it', async () => {
    // A `node` first on PATH that records each start, then runs the real one.
    const bin = join(work.path, 'shim');
    const log = join(work.path, 'node-starts.log');
    await mkdir(bin, { recursive: true });
    await writeFile(
      join(bin, 'node'),
      `#!/bin/sh\necho "$*" >> '${log}'\nexec '${process.execPath}' "$@"\n`,
      {
        mode: 0o755,
      },
    );
    await writeFile(log, '');
    const run = (args: string[] = []) =>
      spawnSync('sh', [join(root, 'scripts', 'build-images.sh'), ...args], {
        cwd: ws,
        env: { ...process.env, ...turboEnv(), PATH: `${bin}:${process.env.PATH}` },
        encoding: 'utf8',
      });
    // Without the first test's signatures: the index is then turbo's own (restored from its cache).
    await rm(join(ws, 'dist'), { recursive: true, force: true });
    expect(run().status).toBe(0);
    await writeFile(log, '');
    const index = await readFile(join(ws, 'dist', 'oci', 'index.json'));
    const warm = run();
    expect(warm.status).toBe(0);
    expect(warm.stdout).toMatch(/FULL TURBO/);
    expect(await readFile(log, 'utf8')).toBe('');
    expect((await readFile(join(ws, 'dist', 'oci', 'index.json'))).equals(index)).toBe(true);
    const bad = run(['--no-such-flag']);
    expect(bad.status).not.toBe(0);
    expect((await readFile(join(ws, 'dist', 'oci', 'index.json'))).equals(index)).toBe(true);
  }, 120_000);
});
