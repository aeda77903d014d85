import { describe, expect, it } from 'vitest';
import { bytesShort, int, percent, rateRange, seconds, secondsRange, times } from '../src/format.ts';
import { summarize } from '../src/stats.ts';
import { renderFacts, renderTable, renderTargets } from '../src/table.ts';

describe('renderTable', () => {
  it('renders a markdown table, right-aligning numeric columns and bolding the rows asked for', () => {
    const md = renderTable({
      title: 'sizes',
      header: ['platform', 'bytes', 'note'],
      rows: [
        ['linux/amd64', '1,234', 'a | b'],
        ['total', '5,678', ''],
      ],
      boldRows: [1],
      notes: ['from the layer'],
    });
    expect(md).toBe(
      [
        '### sizes',
        '',
        '| platform | bytes | note |',
        '| --- | ---: | --- |',
        '| linux/amd64 | 1,234 | a \\| b |',
        '| **total** | **5,678** |  |',
        '',
        '- from the layer',
      ].join('\n'),
    );
  });

  it('treats times, ratios and percentages with a range as numeric', () => {
    const md = renderTable({
      title: 't',
      header: ['x', 'time', 'ratio', 'share'],
      rows: [['a', '1.23 s (1.20–1.31)', '0.62×', '15 %']],
    });
    expect(md).toContain('| --- | ---: | ---: | ---: |');
  });

  it('refuses a row of the wrong width', () => {
    expect(() => renderTable({ title: 't', header: ['a', 'b'], rows: [['1']] })).toThrow(/1 cells, not 2/);
  });

  it('renders targets as met / NO, and a moonshot not met as "not yet"', () => {
    const md = renderTargets([
      { name: 'pack', goal: '≤ 1.0×', value: '0.8×', met: true },
      { name: 'push', goal: '≤ 1.0×', value: '1.2×', met: false },
      { name: 'pack parallel', goal: '≤ 0.6×', value: '0.7×', met: false, stretch: true },
    ]);
    expect(md).toContain('| pack | ≤ 1.0× | 0.8× | yes |');
    expect(md).toContain('| push | ≤ 1.0× | 1.2× | NO |');
    expect(md).toContain('| pack parallel (moonshot) | ≤ 0.6× | 0.7× | not yet |');
  });

  it('renders facts as a two-column table', () => {
    expect(renderFacts('Machine', { cores: '2' })).toContain('| cores | 2 |');
  });
});

describe('formatting', () => {
  it('formats integers, seconds, ranges, rates, ratios and percentages', () => {
    expect(int(1234567)).toBe('1,234,567');
    expect(seconds(0.12345)).toBe('0.123 s');
    expect(seconds(12.345)).toBe('12.3 s');
    const s = summarize([2, 1, 4]);
    expect(secondsRange(s)).toBe('2.00 s (1.00–4.00)');
    expect(rateRange(200e6, s)).toBe('100 MB/s (50–200)');
    expect(times(0.6234)).toBe('0.62×');
    expect(percent(0.153)).toBe('15 %');
    expect(percent(0.0123)).toBe('1.2 %');
    expect(bytesShort(4601)).toBe('4.6 kB');
    expect(bytesShort(200_100_000)).toBe('200.1 MB');
  });
});
