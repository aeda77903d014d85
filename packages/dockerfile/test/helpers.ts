import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Image, type LayerEntry, readTarEntries, uncompressed } from '@scratchpack/oci';
import { DockerfileError, type EvaluateOptions, evaluate, evaluateDockerfile } from '../src/index.ts';

export type Tree = Record<
  string,
  string | Buffer | { content: string | Buffer; mode: number } | { symlink: string }
>;

/** Create files under `root`: `{ 'a/b': 'text', 'bin/x': { content, mode: 0o755 }, 'l': { symlink: '../x' } }`. */
export async function makeTree(root: string, tree: Tree): Promise<void> {
  for (const [rel, v] of Object.entries(tree)) {
    const p = join(root, rel);
    await mkdir(dirname(p), { recursive: true });
    if (typeof v === 'object' && 'symlink' in v) await symlink(v.symlink, p);
    else if (typeof v === 'object' && 'content' in v) {
      await writeFile(p, v.content);
      await chmod(p, v.mode);
    } else {
      await writeFile(p, v);
      await chmod(p, 0o644);
    }
  }
}

/** Each layer's entries as `type path mode uid:gid [-> target] [content]` lines. */
export async function layerListing(img: Image): Promise<string[][]> {
  const out: string[][] = [];
  for (const layer of await img.layers()) {
    const entries = await readTarEntries(uncompressed(layer));
    out.push(entries.map(describe));
  }
  return out;
}

function describe(e: LayerEntry): string {
  switch (e.type) {
    case 'file':
      return `file ${e.path} ${(e.mode ?? 0).toString(8)} ${e.uid ?? 0}:${e.gid ?? 0} ${'content' in e ? String(e.content) : ''}`.trim();
    case 'dir':
      return `dir ${e.path} ${(e.mode ?? 0).toString(8)} ${e.uid ?? 0}:${e.gid ?? 0}`;
    case 'symlink':
    case 'hardlink':
      return `${e.type} ${e.path} -> ${e.target}`;
    default:
      return `${e.type} ${e.path}`;
  }
}

/** Evaluate and expect a DockerfileError; returns it. */
export async function evalError(text: string, opts: EvaluateOptions): Promise<DockerfileError> {
  try {
    await evaluate(text, opts);
  } catch (e) {
    if (e instanceof DockerfileError) return e;
    throw e;
  }
  throw new Error('expected a DockerfileError');
}

export { evaluateDockerfile };
