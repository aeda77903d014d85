import { existsSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { BENCH_NICE, raisePriority } from '../src/priority.ts';

const niceNow = () => Number(/nice\s+(-?\d+)/.exec(readFileSync('/proc/self/autogroup', 'utf8'))![1]);
const canRaise = existsSync('/proc/self/autogroup') && process.getuid?.() === 0;

describe('raisePriority (the bench session before other sessions)', () => {
  it.runIf(canRaise)('raises the autogroup to nice -20, says so, and puts the old value back', () => {
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

  it('always says what it did', () => {
    const p = raisePriority();
    p.restore();
    expect(p.note).toMatch(/^nice -?\d+/);
  });
});
