/**
 * `scratchpack base` and `build --base` at the CLI's edge: usage errors before any work, a bad lock named, and a
 * mirror that is down failing with the package's name and leaving the local store untouched.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cli } from './helpers.ts';

// Each case starts the CLI from its sources (a few seconds on a loaded 2-core machine).
vi.setConfig({ testTimeout: 120_000 });

let tmp: Awaited<ReturnType<typeof tempDir>>;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  tmp = await tempDir('base-cli-');
  env = {
    SCRATCHPACK_STORE: join(tmp.path, 'store'),
    XDG_CACHE_HOME: join(tmp.path, 'cache'),
    SCRATCHPACK_DEBIAN_MIRROR: '',
  };
});
afterAll(() => tmp?.cleanup());

/** A loopback URL where nothing listens. */
async function closedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}/debian`;
}

describe('scratchpack base', () => {
  it('needs a name or an output', async () => {
    const r = await cli(['base', 'static'], { env });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no --output and no --tag given/);
    expect(r.stderr).toMatch(/-t static/);
  });

  it('names a bad lock file', async () => {
    const lock = join(tmp.path, 'bad.lock.json');
    await writeFile(
      lock,
      JSON.stringify({ distribution: { id: 'debian', versionId: '12', codename: 'bookworm' } }),
    );
    const r = await cli(['base', 'static', '-t', 'static', '--lock', lock], { env });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`error [BASE_LOCK_INVALID]: ${lock}: "suites" is not a list`);
  });

  it('a mirror that is down: the package is named, nothing reaches the store', async () => {
    const r = await cli(['base', 'static', '-t', 'static', '--mirror', await closedUrl(), '--json'], { env });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /error \[BASE_FETCH_FAILED\]: cannot fetch ca-certificates \S+ \(all\): http:\/\/127\.0\.0\.1:\d+\/debian\/pool\//,
    );
    expect(r.stderr).toMatch(/hint: .*warm cache builds offline/);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'BASE_FETCH_FAILED', temporary: true });
    expect(existsSync(join(tmp.path, 'store', 'index.json'))).toBe(false);
  });
});

describe('build --base', () => {
  it('goes with --c-source or --binary only, and not with --file', async () => {
    const a = await cli(['build', '.', '--base', 'static', '-t', 'x'], { env, cwd: tmp.path });
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--base goes with --c-source or --binary/);
    const b = await cli(['build', '--c-source', 'x.c', '--base', 'static', '-f', 'Dockerfile', '-t', 'x'], {
      env,
      cwd: tmp.path,
    });
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--base static is for the generated Dockerfile, but --file Dockerfile is given/);
  });
});
