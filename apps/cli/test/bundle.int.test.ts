/**
 * The prebuilt CLI bundle (turbo's `build` task): made from exactly the current sources, it behaves like
 * the sources run through tsx — same JSON, same image digests — and the bin picks it only while current.
 */

import { isAscii } from 'node:buffer';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { findPlatform } from '@scratchpack/toolchain';
import { afterAll, beforeAll, expect, it } from 'vitest';

const { BUNDLE, BUNDLE_CODE_CACHE, BUNDLE_INPUTS, inputsHash } = createRequire(import.meta.url)(
  '../bin/inputs.cjs',
) as { BUNDLE: string; BUNDLE_CODE_CACHE: string; BUNDLE_INPUTS: string; inputsHash(): string };

import { copyHelloBinaries } from './hello-fixture.ts';
import { cliBin, repoRoot } from './helpers.ts';

const cliDir = join(repoRoot, 'apps', 'cli');
const tsxCli = createRequire(join(cliDir, 'package.json')).resolve('tsx/cli');

function node(args: string[], env: NodeJS.ProcessEnv = {}, cwd = repoRoot) {
  return spawnSync(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

describeWithTools([], 'the prebuilt CLI bundle', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    execFileSync(process.execPath, [tsxCli, 'scripts/bundle.ts'], { cwd: cliDir, stdio: 'pipe' });
    work = await tempDir('bundle-');
    const { cp, mkdir } = await import('node:fs/promises');
    await mkdir(join(work.path, 'src'), { recursive: true });
    await cp(join(repoRoot, 'packages', 'hello', 'src', 'hello.c'), join(work.path, 'src', 'hello.c'));
    await cp(join(repoRoot, 'packages', 'hello', 'Dockerfile'), join(work.path, 'Dockerfile'));
    await copyHelloBinaries(work.path, [findPlatform('linux/amd64'), findPlatform('linux/riscv64')]);
  });
  afterAll(() => work?.cleanup());

  it('records the hash of the sources it was made from', async () => {
    expect((await readFile(BUNDLE_INPUTS, 'utf8')).trim()).toBe(inputsHash());
  });

  it('is ASCII, and the bin runs it with a code cache made for exactly these bytes and this Node', async () => {
    const bytes = await readFile(BUNDLE);
    expect(isAscii(bytes)).toBe(true);
    const key = createHash('sha256').update(bytes).update('\0').update(process.version).digest();
    // The bin's own cache, beside the bundle: other test files start the CLI meanwhile, and any of them may be
    // the one that writes it, so it is only read here.
    const first = node([cliBin, '--version']);
    expect(first.status).toBe(0);
    expect((await readFile(BUNDLE_CODE_CACHE)).subarray(0, 32).equals(key)).toBe(true);
    // Made, then used (not made again) by the next start: the real bundle with a cache of this test's own.
    const cache = join(work.path, 'bundle.codecache');
    // As the bin: runBundle(bundle, cache), the CLI seeing only its own arguments; stderr ends with the answer.
    const harness = `const [, b, c] = process.argv; process.argv.splice(2, 1); const s = require(${JSON.stringify(join(cliDir, 'bin', 'run-bundle.cjs'))}).runBundle(b, c); process.on('exit', () => process.stderr.write('\\n' + s));`;
    const start = () => node(['-e', harness, BUNDLE, cache, '--version']);
    const made = start();
    expect(made.status).toBe(0);
    expect(made.stdout).toBe(first.stdout);
    expect(made.stderr.trim().split('\n').at(-1)).toBe('made');
    expect((await readFile(cache)).subarray(0, 32).equals(key)).toBe(true);
    const mtime = (await stat(cache)).mtimeMs;
    const used = start();
    expect(used.stdout).toBe(first.stdout);
    expect(used.stderr.trim().split('\n').at(-1)).toBe('cached');
    expect((await stat(cache)).mtimeMs).toBe(mtime);
  });

  it('finds zig and prints the same matrix as the sources', () => {
    const bundled = node([cliBin, 'platforms', '--json']);
    const source = node([cliBin, 'platforms', '--json'], { SCRATCHPACK_FROM_SOURCE: '1' });
    expect(bundled.status).toBe(0);
    expect(JSON.parse(bundled.stdout).zig.version).toBe('0.14.0-dev.2456+a68119f8f');
    expect(bundled.stdout).toBe(source.stdout);
  });

  it('builds the same image digests as the sources, and runs them', () => {
    const args = [
      'build',
      'dist/{label}',
      '-f',
      'Dockerfile',
      '--platform',
      'linux/amd64,linux/riscv64',
      '--json',
    ];
    const bundled = node([cliBin, ...args, '-o', 'out/a'], {}, work.path);
    const source = node([cliBin, ...args, '-o', 'out/b'], { SCRATCHPACK_FROM_SOURCE: '1' }, work.path);
    expect(bundled.stderr).toBe('');
    expect(bundled.status).toBe(0);
    expect(JSON.parse(bundled.stdout).index).toBe(JSON.parse(source.stdout).index);
    const run = node([cliBin, 'run', '--platform', 'linux/riscv64', 'out/a:latest'], {}, work.path);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('built for linux/riscv64:');
  });

  it('errors from the bundle are the same one-line errors with hints', () => {
    const r = node([cliBin, 'inspect', join(work.path, 'nowhere')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error \[OCI_LAYOUT_NOT_FOUND\]: .*\nhint: /);
  });
});
