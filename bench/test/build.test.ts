import { describe, expect, it } from 'vitest';
import { buildResult, turboCached } from '../src/sections/build.ts';
import { summarize } from '../src/stats.ts';

const times = {
  cold: summarize([5.5, 5.6, 6.6]),
  rebuild: summarize([0.24, 0.25, 0.27]),
  warm: summarize([0.23, 0.24, 0.26]),
  edit: summarize([6.0, 6.4, 6.9]),
};

describe('build result', () => {
  it('says the rebuild right after a clean build was a full turbo hit when turbo said so', () => {
    const r = buildResult('0123456789abcdef', times, ['sha256:aa'], 64, '3/3');
    const rebuild = r.tables[0]!.rows[1]!;
    expect(rebuild[3]).toBe('turbo 3/3 cached (outputs restored)');
    const notes = r.tables[0]!.notes!.join('\n');
    expect(notes).toContain('already a full turbo hit');
    expect(notes).not.toContain('was not a full turbo hit');
  });

  it('says a partial hit was one, with turbo’s figure, and no full-hit claim', () => {
    const r = buildResult('0123456789abcdef', times, ['sha256:aa'], 64, '2/3');
    expect(r.tables[0]!.rows[1]![3]).toBe('turbo 2/3 cached: see the note');
    const notes = r.tables[0]!.notes!.join('\n');
    expect(notes).toContain('was not a full turbo hit (2/3)');
    expect(notes).not.toContain('already a full turbo hit');
  });

  it('reads turbo’s Cached line', () => {
    expect(turboCached(' Tasks:    3 successful, 3 total\nCached:    3 cached, 3 total\n')).toBe('3/3');
    expect(() => turboCached('no summary')).toThrow(/no "Cached:" line/);
  });
});
