// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, where ${VAR} is the syntax under test
import { describe, expect, it } from 'vitest';
import { expand, splitWords } from '../src/index.ts';

const env: Record<string, string> = { A: 'alpha', EMPTY: '' };
const look = (n: string) => env[n];

describe('splitWords', () => {
  it('splits on unquoted whitespace and keeps offsets', () => {
    expect(splitWords(`a "b c"  'd e' f\\ g`)).toEqual([
      { raw: 'a', start: 0 },
      { raw: '"b c"', start: 2 },
      { raw: "'d e'", start: 9 },
      { raw: 'f\\ g', start: 15 },
    ]);
  });
});

describe('expand', () => {
  it.each([
    ['$A', 'alpha'],
    ['${A}-x', 'alpha-x'],
    ['$UNSET', ''],
    ['${UNSET:-dflt}', 'dflt'],
    ['${EMPTY:-dflt}', 'dflt'],
    ['${EMPTY-dflt}', ''],
    ['${A:+alt}', 'alt'],
    ['${UNSET:+alt}', ''],
    ['${UNSET:-$A}', 'alpha'],
    ["'$A'", '$A'],
    ['"$A b"', 'alpha b'],
    ['\\$A', '$A'],
    ['"\\"q\\""', '"q"'],
    ['"a\\b"', 'a\\b'],
    ['cost$', 'cost$'],
    ['$1x', 'x'],
  ])('%s → %s', (input, want) => {
    expect(expand(input, look)).toBe(want);
  });

  it('uses the escape directive character', () => {
    expect(expand('C:\\dir`$A', look, '`')).toBe('C:\\dir$A');
  });

  it('reports errors with offsets', () => {
    expect(() => expand('x${A', look)).toThrow(
      expect.objectContaining({ message: 'missing "}" for ${A', offset: 1 }),
    );
    expect(() => expand('${A/x/y}', look)).toThrow(/unsupported modifier/);
    expect(() => expand('${UNSET:?need it}', look)).toThrow('UNSET: need it');
  });
});
