import { describe, expect, it } from 'vitest';
import { type SmallFilesRun, smallFilesResult } from '../src/sections/small-files.ts';
import { summarize } from '../src/stats.ts';

const sizeRun = (
  files: number,
  sbom: number[],
  none: number[],
  tar: number[],
  read: number[] = [1, 1, 1],
): SmallFilesRun => ({
  files,
  seconds: {
    sbom: summarize(sbom),
    none: summarize(none),
    'tar-gzip': summarize(tar),
    read: summarize(read),
  },
  peakBytes: {
    sbom: [300e6, 310e6, 305e6],
    none: [180e6, 181e6, 182e6],
    'tar-gzip': [3e6, 3e6, 3e6],
    read: [50e6, 51e6, 50e6],
  },
});

describe('small files result', () => {
  it('reports both sizes side by side with their ratios and per-file times', () => {
    const r = smallFilesResult([
      sizeRun(25_000, [5, 6, 7], [4, 5, 6], [2, 2, 3], [3, 3, 3]),
      sizeRun(100_000, [22, 20, 21], [18, 19, 20], [7, 8, 9], [10, 11, 12]),
    ]);
    expect(r.tables).toHaveLength(2);
    expect(r.tables[0]!.title).toContain('25,000 files');
    expect(r.tables[1]!.title).toContain('100,000 files');
    const sbom25 = r.tables[0]!.rows[0]!;
    expect(sbom25.slice(2)).toEqual(['310 MB', '1.20×', '3.00×', '2.00×', '240']);
    expect(r.tables[1]!.rows[1]!.slice(3)).toEqual(['1.00×', '2.38×', '1.73×', '190']);
    // The floor's own row, and the note that says how far each is from it.
    expect(r.tables[0]!.rows[3]!.slice(1)).toEqual([
      '3.00 s (3.00–3.00)',
      '51 MB',
      '0.60×',
      '1.50×',
      '1.00×',
      '120',
    ]);
    expect(r.tables[1]!.notes!.join(' ')).toMatch(
      /the floor alone is 1\.50× `tar \| gzip -6`; the build with SBOMs is 2\.00× the floor/,
    );
    expect(r.targets.map((t) => [t.value, t.met])).toEqual([
      ['1.11×', true], // 21 / 19 at 100,000
      ['3.00×', true], // 6 / 2 at 25,000
      ['0.88×', true], // (21 / 100,000) / (6 / 25,000)
    ]);
  });

  it('does not meet the targets when with SBOMs is slow, far from tar, or grows faster than the count', () => {
    const r = smallFilesResult([
      sizeRun(25_000, [7, 7, 7], [2, 2, 2], [2, 2, 2]),
      sizeRun(100_000, [26, 26, 26], [20, 20, 20], [8, 8, 8]),
    ]);
    expect(r.targets.map((t) => t.met)).toEqual([false, false, true]);
    const quadratic = smallFilesResult([
      sizeRun(25_000, [5, 5, 5], [5, 5, 5], [2, 2, 2]),
      sizeRun(100_000, [40, 40, 40], [40, 40, 40], [8, 8, 8]),
    ]);
    expect(quadratic.targets[2]).toMatchObject({ value: '2.00×', met: false });
  });
});
