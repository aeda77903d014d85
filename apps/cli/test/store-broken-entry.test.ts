/** One broken entry in the store's index.json: every command goes on with the other images, with a warning. */
import { readFile, writeFile } from 'node:fs/promises';
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
