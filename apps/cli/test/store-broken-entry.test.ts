/** One broken entry in the store's index.json: every command goes on with the other images, with a warning. */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';
import { tarOf } from './tar-fixtures.ts';

let work: Awaited<ReturnType<typeof tempDir>>;
let env: NodeJS.ProcessEnv;
let index: string;
const WARNING =
  /^warning: skipped the entry for evil:latest of .*index\.json: manifests\[\d+\]\.digest: expected "<algorithm>:<hex>", got "sha256:\.\.\/\.\.\/\.\.\/etc\/passwd"; `scratchpack rmi evil:latest` removes it$/m;

beforeAll(async () => {
  work = await tempDir('cli-broken-entry-');
  env = { SCRATCHPACK_STORE: join(work.path, 'store') };
  const r = await cli(['import', '-', 'good', '--platform', 'linux/amd64'], {
    input: tarOf([{ name: 'f', content: 'hi\n' }]),
    env,
  });
  expect(r.status, r.stderr).toBe(0);
  index = join(work.path, 'store', 'index.json');
  const doc = JSON.parse(await readFile(index, 'utf8'));
  doc.manifests.push({
    ...doc.manifests[0],
    digest: 'sha256:../../../etc/passwd',
    annotations: { 'org.opencontainers.image.ref.name': 'evil:latest' },
  });
  await writeFile(index, JSON.stringify(doc));
}, 60_000);
afterAll(() => work?.cleanup());

describe('a broken store entry (digest sha256:../../../etc/passwd)', () => {
  it('images, inspect and save of the other images work, each warning once', async () => {
    for (const args of [['images'], ['inspect', 'good'], ['save', 'good', '-o', join(work.path, 'g.tar')]]) {
      const r = await cli(args, { env });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(WARNING);
      expect(r.stderr.match(/^warning: skipped/gm)).toHaveLength(1);
    }
  }, 60_000);

  it('the broken name itself: STORE_ENTRY_INVALID saying how to fix it; rmi removes it', async () => {
    const r = await cli(['inspect', 'evil'], { env });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `error [STORE_ENTRY_INVALID]: the local store's entry for evil:latest is broken (${index}: manifests[`,
    );
    expect(r.stderr).toContain(`hint: remove the name with \`scratchpack rmi evil:latest\``);
    const rmi = await cli(['rmi', 'evil'], { env });
    expect(rmi.status, rmi.stderr).toBe(0);
    expect(rmi.stdout).toContain('untagged evil:latest');
    const after = await cli(['images'], { env });
    expect(after.stderr).toBe('');
    expect(after.stdout).toContain('good:latest');
  }, 60_000);
});

describe('damaged archives and blobs: one clear line, a code, no stack trace', () => {
  it('save of an image whose layer blob is truncated, to a file and to stdout', async () => {
    const { path, cleanup } = await tempDir('cli-truncated-');
    try {
      const env2 = { SCRATCHPACK_STORE: join(path, 'store') };
      const tar = tarOf([{ name: 'f', content: 'x'.repeat(4000) }]);
      expect(
        (await cli(['import', '-', 'app', '--platform', 'linux/amd64'], { input: tar, env: env2 })).status,
      ).toBe(0);
      const dir = join(path, 'store', 'blobs', 'sha256');
      for (const name of await readdir(dir)) {
        const bytes = await readFile(join(dir, name));
        if (bytes[0] === 0x1f && bytes[1] === 0x8b) await writeFile(join(dir, name), bytes.subarray(0, 20));
      }
      for (const args of [
        ['save', 'app', '-o', join(path, 'app.tar')],
        ['save', 'app'],
      ]) {
        const r = await cli(args, { env: env2 });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(
          /^error \[OCI_SIZE_MISMATCH\]: blob sha256:[0-9a-f]{64} in .*store: expected \d+ bytes but got 20\nhint: /,
        );
        expect(r.stderr).not.toMatch(/\n\s+at |node:events|Unhandled/);
      }
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('load of an archive whose blob is a symlink: refused naming the entry, nothing read through it', async () => {
    const hex = 'a'.repeat(64);
    const archive = tarOf([
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', content: '{"schemaVersion":2,"manifests":[]}' },
      { name: `blobs/sha256/${hex}`, type: 'symlink', linkname: '/etc/passwd' },
    ]);
    const r = await cli(['load'], { input: archive, env });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `error [STORE_INVALID_ARCHIVE]: standard input: blobs/sha256/${hex} is a symlink to /etc/passwd, not a regular file;`,
    );
    expect(r.stderr).not.toMatch(/ENOENT|\.tmp-/);
  }, 60_000);
});
