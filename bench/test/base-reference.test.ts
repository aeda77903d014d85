import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { distrolessReference } from '../src/sections/base.ts';

describe('distroless/static reference', () => {
  it('reads the committed row', () => {
    const text = readFileSync(join(import.meta.dirname, '..', 'reference', 'distroless-static.tsv'), 'utf8');
    expect(distrolessReference(text)).toEqual({
      image: 'gcr.io/distroless/static-debian12',
      platforms: 5,
      bytes: 2 * 1024 * 1024,
    });
  });

  it('refuses a file without a data row', () => {
    expect(() => distrolessReference('# only a comment\n')).toThrow(/no data row/);
  });
});
