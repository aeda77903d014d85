import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BENCH_NICE, raisePriority } from '../src/priority.ts';

const autogroupNice = () => {
  // The file is empty when the process is not in an autogroup (its cpu cgroup is not the root one).
  const m = existsSync('/proc/self/autogroup')
    ? /nice\s+(-?\d+)/.exec(readFileSync('/proc/self/autogroup', 'utf8'))
    : null;
  return m ? Number(m[1]) : undefined;
};
const niceNow = () => autogroupNice()!;
const canRaise = autogroupNice() !== undefined && process.getuid?.() === 0;

/** `fn` given a file standing for /proc/self/autogroup, holding `text`. */
function withAutogroupFile(text: string, fn: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'autogroup-'));
  try {
    const file = join(dir, 'autogroup');
    writeFileSync(file, text);
    fn(file);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

describe('raisePriority (the bench session before other sessions)', () => {
  it('raises the autogroup to nice -20, says so, and puts the old value back (this process, as far as the machine lets it)', () => {
    if (!canRaise) {
      // Not root, or in a cpu cgroup of its own (no autogroup): the note says why nothing was raised.
      const p = raisePriority();
      p.restore();
      expect(p.note).toMatch(
        autogroupNice() === undefined ? /not in an autogroup here/ : /raising it failed/,
      );
      return;
    }
    const before = niceNow();
    const processNice = getPriority();
    const p = raisePriority();
    try {
      expect(niceNow()).toBe(BENCH_NICE);
      expect(p.note).toContain(`autogroup nice ${BENCH_NICE}`);
      expect(p.note).toContain(`the group was ${before}`);
      expect(p.note).toContain('nice -20,');
    } finally {
      p.restore();
    }
    expect(niceNow()).toBe(before);
    expect(getPriority()).toBe(processNice);
  });

  it('leaves the group alone when the process is in none (the file is empty in a non-root cpu cgroup)', () =>
    withAutogroupFile('', (file) => {
      const p = raisePriority(file);
      p.restore();
      expect(p.note).toMatch(/^nice -?\d+ \(not in an autogroup here\)$/);
      expect(readFileSync(file, 'utf8')).toBe('');
    }));

  it('writes the raised value to the group and the old one back when done', () =>
    withAutogroupFile('/autogroup-7 nice 3\n', (file) => {
      const p = raisePriority(file);
      expect(readFileSync(file, 'utf8')).toBe(String(BENCH_NICE));
      expect(p.note).toContain('the group was 3');
      p.restore();
      expect(readFileSync(file, 'utf8')).toBe('3');
    }));

  it('always says what it did', () => {
    const p = raisePriority();
    p.restore();
    expect(p.note).toMatch(/^nice -?\d+/);
  });
});
