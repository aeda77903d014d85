/** Summaries of repeated measurements: the median is the figure, min–max shows the spread. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Every run, in the order it was measured. */
  runs: number[];
}

/** The median of `values` (the mean of the middle two for an even count). Throws on an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(runs: readonly number[]): Summary {
  if (runs.length === 0) throw new RangeError('summary of no runs');
  return { median: median(runs), min: Math.min(...runs), max: Math.max(...runs), runs: [...runs] };
}

/** `a / b` of two medians, e.g. our time over the reference tool's time. */
export function ratio(a: Summary, b: Summary): number {
  return a.median / b.median;
}

/**
 * Run each contender `runs` times, alternating them run by run (A B C, A B C, …) so that drift in the machine's
 * state (page cache, thermal, other load) spreads over all of them. `measure` returns one run's figure.
 */
export async function alternate<K extends string>(
  contenders: readonly K[],
  runs: number,
  measure: (contender: K, run: number) => Promise<number>,
): Promise<Record<K, Summary>> {
  const figures = Object.fromEntries(contenders.map((c) => [c, [] as number[]])) as Record<K, number[]>;
  for (let run = 0; run < runs; run++) {
    for (const c of contenders) figures[c].push(await measure(c, run));
  }
  return Object.fromEntries(contenders.map((c) => [c, summarize(figures[c])])) as Record<K, Summary>;
}

/** Seconds since `start` (from `performance.now()`). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/** Time one async call, in seconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { seconds: secondsSince(start), value };
}
