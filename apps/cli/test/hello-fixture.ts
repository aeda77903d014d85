/**
 * packages/hello compiled for every platform ONCE per content, shared by every test that needs the binaries
 * (images, podman, push): a directory under $TMPDIR named by the sha256 of what decides the bytes — hello's sources
 * and compile options (packages/hello/src), the toolchain's sources and package.json, and the lockfile (the zig
 * version), one folder per platform. The first caller compiles what is missing into a temp name and renames each
 * platform's folder into place; later callers, in this run or the next, copy. That the compile does not depend on its folder is hello.int.test.ts's to prove (it compiles in
 * two folders and compares).
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileAll, type PlatformSpec, SUPPORTED_PLATFORMS } from '@scratchpack/toolchain';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const INPUTS = ['packages/hello/src', 'toolchain/src', 'toolchain/package.json', 'pnpm-lock.yaml'];

async function filesUnder(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** The sha256 of every input file's path and bytes. */
async function contentKey(): Promise<string> {
  const h = createHash('sha256');
  for (const input of INPUTS) {
    for (const file of await filesUnder(join(repoRoot, input))) {
      h.update(`${relative(repoRoot, file)}\0`);
      h.update(await readFile(file));
      h.update('\0');
    }
  }
  return h.digest('hex').slice(0, 16);
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * The folder holding `<label>/hello` for each of `platforms` (default all fifteen), compiled now — only the ones
 * missing — or earlier from the same content.
 */
export function helloBinaries(platforms: readonly PlatformSpec[] = SUPPORTED_PLATFORMS): Promise<string> {
  const next = queue.then(async () => {
    const root = join(tmpdir(), 'scratchpack-test-hello', await contentKey());
    const have = async (p: PlatformSpec) =>
      (await stat(join(root, p.label, 'hello')).catch(() => undefined)) !== undefined;
    const missing: PlatformSpec[] = [];
    for (const p of platforms) if (!(await have(p))) missing.push(p);
    if (missing.length === 0) return root;
    const temp = join(root, `.tmp-${process.pid}-${Date.now()}`);
    await mkdir(join(temp, 'src'), { recursive: true });
    try {
      await cp(join(repoRoot, 'packages', 'hello', 'src', 'hello.c'), join(temp, 'src', 'hello.c'));
      const { helloCompileOptions } = await import('@scratchpack/hello');
      await compileAll({
        ...helloCompileOptions(temp),
        platforms: missing,
        out: (p) => join(temp, 'dist', p.label, 'hello'),
      });
      // Each platform's folder appears whole or not at all; another process may have renamed its own first.
      for (const p of missing) await rename(join(temp, 'dist', p.label), join(root, p.label)).catch(() => {});
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
    return root;
  });
  queue = next.catch(() => {});
  return next;
}

/** Copy the shared binaries of `platforms` (default all) to `folder/dist/<label>/hello`. */
export async function copyHelloBinaries(
  folder: string,
  platforms: readonly PlatformSpec[] = SUPPORTED_PLATFORMS,
): Promise<void> {
  const root = await helloBinaries(platforms);
  for (const p of platforms)
    await cp(join(root, p.label), join(folder, 'dist', p.label), { recursive: true });
}
