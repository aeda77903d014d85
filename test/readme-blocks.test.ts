/** The README runner's markers are well formed in every README (the runner itself: readme.int.test.ts). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markedBlocks, readmes, unmarkedFences } from './readme-blocks.ts';

const root = join(import.meta.dirname, '..');

describe('README runner markers', () => {
  it('every marker precedes a ```sh block; every "not runnable" says why; the root README has runnable blocks', () => {
    const all = readmes(root).flatMap((f) => markedBlocks(root, f));
    expect(all.filter((b) => b.runnable && b.file === 'README.md').length).toBeGreaterThanOrEqual(3);
    for (const b of all.filter((x) => !x.runnable)) expect(b.reason, `${b.file}:${b.line}`).toMatch(/\w/);
  });

  it('every shell block of every README says whether it runs', () => {
    const unmarked = readmes(root).flatMap((f) => unmarkedFences(root, f).map((line) => `${f}:${line}`));
    expect(unmarked).toEqual([]);
  });

  it('a marker without a fence, or "not runnable" without a reason, is an error naming the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'readme-markers-'));
    writeFileSync(join(dir, 'A.md'), 'x\n<!-- runnable -->\ntext\n');
    expect(() => markedBlocks(dir, 'A.md')).toThrow(/A\.md:2: a README runner marker must be followed/);
    writeFileSync(join(dir, 'B.md'), '<!-- not runnable: -->\n```sh\nls\n```\n');
    expect(() => markedBlocks(dir, 'B.md')).toThrow(/B\.md:1: "not runnable" needs a reason/);
    writeFileSync(join(dir, 'C.md'), '<!-- runnable -->\n```sh\necho a\necho b\n```\n');
    expect(markedBlocks(dir, 'C.md')).toEqual([
      { file: 'C.md', line: 2, runnable: true, script: 'echo a\necho b' },
    ]);
  });
});
