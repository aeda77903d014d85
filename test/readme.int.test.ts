/**
 * The README runner: every ```sh block a README marks `<!-- runnable -->` (see readme-blocks.ts) runs as written,
 * the blocks of one README in order in one scratch directory (so a later block uses what an earlier one made),
 * with `pnpm exec scratchpack` and `scratchpack` being this checkout's CLI and the store and caches in the scratch
 * directory (the rootfs cache of `run` is the user's: it must sit where an overlay can use it). Each block must exit 0. Blocks marked `not runnable: REASON` are not run (network beyond
 * loopback, fifteen cold compiles, root on another machine, …). The tools the blocks use must be installed: under
 * CI=true a missing one fails the suite.
 */
import { spawnSync } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { requireTools, tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markedBlocks, readmes } from './readme-blocks.ts';

const root = join(import.meta.dirname, '..');
const cliBin = join(root, 'apps', 'cli', 'bin', 'scratchpack.js');
// What the runnable blocks call besides the CLI: busybox-static's /bin/busybox, bwrap for `run`, tar.
const tools = requireTools('busybox', 'bwrap', 'tar');

/** `pnpm exec scratchpack` and `scratchpack` as this checkout's CLI; other pnpm calls untouched. */
const PRELUDE = `
scratchpack() { node ${JSON.stringify(cliBin)} "$@"; }
pnpm() { if [ "$1" = exec ] && [ "$2" = scratchpack ]; then shift 2; scratchpack "$@"; else command pnpm "$@"; fi; }
set -e -o pipefail
`;

const files = readmes(root)
  .map((file) => ({ file, blocks: markedBlocks(root, file).filter((b) => b.runnable) }))
  .filter((f) => f.blocks.length > 0);

describe.skipIf(tools.skip)('README blocks run as written', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    work = await tempDir('readme-run-');
    // As root the container runs as nobody, and `-v "$PWD/data:/data"` must be reachable by it (README: run).
    await chmod(work.path, 0o755);
  });
  afterAll(() => work?.cleanup());

  it('the tools the blocks use are installed', () => {
    expect(tools.missing, tools.reason).toEqual([]);
  });

  for (const { file, blocks } of files) {
    describe(file, () => {
      for (const b of blocks)
        it(`${file}:${b.line}`, () => {
          const dir = join(work.path, file.replace(/[/.]/g, '_'));
          spawnSync('mkdir', ['-p', dir]);
          const r = spawnSync('bash', ['-c', `${PRELUDE}\n${b.script}\n`], {
            cwd: dir,
            encoding: 'utf8',
            timeout: 240_000,
            env: {
              ...process.env,
              SCRATCHPACK_STORE: join(work.path, 'store'),
              XDG_CACHE_HOME: join(work.path, 'cache'),
            },
          });
          expect(
            r.status,
            `${file}:${b.line} failed:\n${b.script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
          ).toBe(0);
        }, 300_000);
    });
  }
});
