import { describe, expect, it } from 'vitest';
import { alternate, median, ratio, summarize } from '../src/stats.ts';

describe('median, summarize, ratio', () => {
  it('takes the middle value of an odd count and the mean of the middle two of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow(RangeError);
  });

  it('keeps the runs in measured order with min and max', () => {
    const s = summarize([5, 1, 9, 3, 4]);
    expect(s).toEqual({ median: 4, min: 1, max: 9, runs: [5, 1, 9, 3, 4] });
    expect(() => summarize([])).toThrow(RangeError);
  });

  it('ratio compares medians', () => {
    expect(ratio(summarize([1, 2, 3]), summarize([4, 4, 4]))).toBe(0.5);
  });
});

describe('alternate', () => {
  it('measures contenders run by run (A B, A B, …) and summarises each', async () => {
    const order: string[] = [];
    const result = await alternate(['a', 'b'] as const, 3, async (c, run) => {
      order.push(`${c}${run}`);
      return c === 'a' ? run + 1 : 10 * (run + 1);
    });
    expect(order).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
    expect(result.a).toEqual({ median: 2, min: 1, max: 3, runs: [1, 2, 3] });
    expect(result.b.median).toBe(20);
  });
});
