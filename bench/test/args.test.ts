import { ScratchpackError } from '@scratchpack/oci';
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../src/args.ts';
import { turboCached } from '../src/sections/build.ts';
import { prng, randomBytesFor, textCorpus } from '../src/tree.ts';

describe('parseArgs', () => {
  it('defaults to every section, 5 runs, 200 MB', () => {
    expect(parseArgs([])).toEqual({
      only: ['size', 'pack', 'push', 'build', 'repro', 'import', 'memory', 'run', 'base', 'small-files'],
      runs: 5,
      sizeMb: 200,
      out: undefined,
    });
  });

  it('takes a subset (in the bench order), runs, size and output, with or without "="', () => {
    expect(parseArgs(['--', '--only', 'push,size', '--runs=3', '--mb', '50', '--out', '/tmp/x'])).toEqual({
      only: ['size', 'push'],
      runs: 3,
      sizeMb: 50,
      out: '/tmp/x',
    });
  });

  it('refuses unknown sections and flags, and runs that are not positive integers', () => {
    expect(() => parseArgs(['--only', 'speed'])).toThrow(UsageError);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown flag/);
    expect(() => parseArgs(['--runs', '0'])).toThrow(/positive integer/);
    expect(() => parseArgs(['--runs'])).toThrow(/needs a value/);
  });

  it('throws a UsageError that is a ScratchpackError (code USAGE)', () => {
    const e = new UsageError('bad', true);
    expect(e).toBeInstanceOf(ScratchpackError);
    expect(e).toMatchObject({ code: 'USAGE', message: 'bad', help: true, name: 'UsageError' });
  });
});

describe('turboCached', () => {
  it("reads turbo's cache summary", () => {
    expect(
      turboCached(
        '\n Tasks:    2 successful, 2 total\nCached:    2 cached, 2 total\n  Time: 28ms >>> FULL TURBO',
      ),
    ).toBe('2/2');
    expect(() => turboCached('no summary')).toThrow(/Cached/);
  });
});

describe('the generated tree is deterministic', () => {
  it('same seed, same numbers and bytes; another seed, others', () => {
    const a = prng(1);
    const b = prng(1);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
    expect(randomBytesFor(1, 'x', 64).equals(randomBytesFor(1, 'x', 64))).toBe(true);
    expect(randomBytesFor(1, 'x', 64).equals(randomBytesFor(2, 'x', 64))).toBe(false);
    expect(textCorpus(3, 4096).equals(textCorpus(3, 4096))).toBe(true);
    expect(textCorpus(3, 4096).length).toBe(4096);
  });
});
