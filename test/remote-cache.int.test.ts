/**
 * turbo's remote cache, as a team would run it: a `turborepo-remote-cache` server on loopback (local storage), a
 * first clone that builds the images and uploads its task outputs, and a second clone with empty turbo and zig
 * caches that gets every task from the server — zig never runs there — and the same index digest.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLayout } from '@scratchpack/oci';
import { describeWithTools, freePort, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const server = join(root, 'node_modules', 'turborepo-remote-cache', 'dist', 'cli.js');
const PLATFORMS = 'linux/amd64,linux/arm64';

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ status: number | null; output: string }>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

async function must(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  const r = await run(command, args, cwd, env);
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${r.status}:\n${r.output.slice(-3000)}`);
  return r.output;
}

/** A clone of this repository's HEAD at `dest`, dependencies from the local pnpm store. */
async function cloneHead(dest: string): Promise<void> {
  const commit = (await must('git', ['rev-parse', 'HEAD'], root)).trim();
  await must('git', ['clone', '--quiet', '--no-local', '--no-hardlinks', root, dest], root);
  await must('git', ['checkout', '--quiet', '--detach', commit], dest);
  await must('pnpm', ['install', '--offline', '--frozen-lockfile', '--reporter=silent'], dest, { CI: '' });
}

async function waitForServer(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null)
      throw new Error(`turborepo-remote-cache exited ${child.exitCode}:\n${log()}`);
    const ok = await fetch(`${url}/v8/artifacts/status`).then(
      () => true,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`turborepo-remote-cache did not answer at ${url}:\n${log()}`);
}

describeWithTools(['git', 'pnpm'], 'turbo remote cache (turborepo-remote-cache on loopback)', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let child: ChildProcess | undefined;
  let first: { output: string; digest: string };
  let second: { output: string; digest: string; zigCacheFiles: number };

  beforeAll(async () => {
    tmp = await tempDir('remote-cache-');
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    let log = '';
    child = spawn(process.execPath, [server], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        TURBO_TOKEN: 'team-secret',
        STORAGE_PROVIDER: 'local',
        STORAGE_PATH: join(tmp.path, 'storage'),
        // An absolute path as it is (the default puts it under the OS temp dir).
        STORAGE_PATH_USE_TMP_FOLDER: 'false',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => (log += d));
    child.stderr?.on('data', (d) => (log += d));
    await waitForServer(api, child, () => log);
    const build = async (name: string) => {
      const dir = join(tmp.path, name);
      await cloneHead(dir);
      const zigCache = join(tmp.path, `zig-${name}`);
      const output = await must('pnpm', ['build:images'], dir, {
        TURBO_API: api,
        TURBO_TOKEN: 'team-secret',
        TURBO_TEAM: 'scratchpack',
        TURBO_CACHE_DIR: join(tmp.path, `turbo-${name}`),
        ...(name === 'second' ? { ZIG_GLOBAL_CACHE_DIR: zigCache } : {}),
        PLATFORMS,
        TURBO_TELEMETRY_DISABLED: '1',
      });
      const layout = await readLayout(join(dir, 'dist', 'oci'));
      const digest = (await layout.descriptor('latest')).digest;
      const zigCacheFiles = existsSync(zigCache) ? (await readdir(zigCache, { recursive: true })).length : 0;
      return { output, digest, zigCacheFiles };
    };
    first = await build('first');
    second = await build('second');
  }, 1_500_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    await tmp?.cleanup();
  });

  it('the first clone uploads its task outputs to the server', async () => {
    expect(first.output).toMatch(/Remote caching enabled/i);
    const stored = await readdir(join(tmp.path, 'storage'), { recursive: true });
    expect(stored.length).toBeGreaterThan(0);
  });

  it('a second clone with empty caches gets every task from the server: zig never runs, same index digest', () => {
    expect(second.output, second.output.slice(-3000)).toMatch(/FULL TURBO/);
    expect(second.output).not.toMatch(/cache miss/);
    expect(second.zigCacheFiles).toBe(0);
    expect(second.digest).toBe(first.digest);
  });
});
