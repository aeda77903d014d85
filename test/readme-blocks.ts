/**
 * The fenced shell blocks a README marks for the README runner (test/readme.int.test.ts):
 *
 *   <!-- runnable -->                 the next ```sh block runs as written, in order, in one scratch directory
 *   <!-- not runnable: REASON -->     the next ```sh block is kept out, for the reason given (network, hours of
 *                                     compiles, root, a registry account, …)
 *
 * A marker must sit on the line right before the fence.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ReadmeBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  runnable: boolean;
  /** Why it is not run (for `not runnable`). */
  reason?: string;
  script: string;
}

const RUNNABLE = /^<!--\s*runnable\s*-->$/;
const NOT_RUNNABLE = /^<!--\s*not runnable:\s*(.*?)\s*-->$/;

/** The marked blocks of `file` (relative to `root`); throws on a marker not followed by a ```sh fence. */
export function markedBlocks(root: string, file: string): ReadmeBlock[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  lines.forEach((text, i) => {
    const run = RUNNABLE.test(text.trim());
    const not = NOT_RUNNABLE.exec(text.trim());
    if (!run && !not) return;
    const fence = lines[i + 1]?.trim();
    if (fence !== '```sh' && fence !== '```bash')
      throw new Error(`${file}:${i + 1}: a README runner marker must be followed by a \`\`\`sh fence`);
    if (not && !not[1]) throw new Error(`${file}:${i + 1}: "not runnable" needs a reason`);
    const end = lines.findIndex((l, j) => j > i + 1 && l.trim() === '```');
    if (end < 0) throw new Error(`${file}:${i + 2}: the fence is never closed`);
    blocks.push({
      file,
      line: i + 2,
      runnable: run,
      ...(not ? { reason: not[1] } : {}),
      script: lines.slice(i + 2, end).join('\n'),
    });
  });
  return blocks;
}

/** The READMEs the runner reads: the root one, and each of apps/*, packages/*, toolchain. */
export function readmes(root: string): string[] {
  const inside = (dir: string) =>
    readdirSync(join(root, dir), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(root, dir, d.name, 'README.md')))
      .map((d) => `${dir}/${d.name}/README.md`)
      .sort();
  return ['README.md', ...inside('apps'), ...inside('packages'), 'toolchain/README.md'];
}

/** 1-based lines of ```sh fences of `file` with no marker before them (every shell block says whether it runs). */
export function unmarkedFences(root: string, file: string): number[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  let inside = false;
  const out: number[] = [];
  lines.forEach((l, i) => {
    const t = l.trim();
    if (!inside && (t === '```sh' || t === '```bash')) {
      const before = lines[i - 1]?.trim() ?? '';
      if (!RUNNABLE.test(before) && !NOT_RUNNABLE.test(before)) out.push(i + 1);
    }
    if (t.startsWith('```')) inside = !inside;
  });
  return out;
}
