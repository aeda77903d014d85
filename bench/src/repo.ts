/** Where the repository is, and clean copies of its committed HEAD for builds that must not touch the work tree. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from './exec.ts';

/** The repository root (bench/src/ → ../..). */
export const REPO = resolve(import.meta.dirname, '..', '..');

/** A fresh temp directory under the system temp dir; `cleanup` removes it. */
export async function tempDir(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `scratchpack-bench-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/**
 * A clean copy of HEAD at `dest` (a `git clone --no-local --depth 1` of the repository: no work-tree changes, no
 * ignored files, no shared turbo cache), with its dependencies installed from the local pnpm store (`--offline`).
 * The lockfile is re-resolved if HEAD's is stale, since this copy is thrown away.
 */
export async function cloneHead(dest: string): Promise<{ commit: string }> {
  const commit = (await run('git', ['rev-parse', 'HEAD'], { cwd: REPO })).trim();
  await run('git', ['clone', '--quiet', '--no-local', '--no-hardlinks', REPO, dest]);
  await run('git', ['checkout', '--quiet', '--detach', commit], { cwd: dest });
  await run('pnpm', ['install', '--offline', '--no-frozen-lockfile', '--reporter=silent'], {
    cwd: dest,
    env: { ...process.env, CI: '' },
  });
  if (!existsSync(join(dest, 'node_modules')))
    throw new Error(`pnpm install left no node_modules in ${dest}`);
  return { commit };
}

/** The digest of the image index a layout's `latest` tag points at (what a push would publish). */
export async function layoutDigest(layoutDir: string): Promise<string> {
  const { readLayout } = await import('@scratchpack/oci');
  const layout = await readLayout(layoutDir);
  return (await layout.descriptor('latest')).digest;
}
