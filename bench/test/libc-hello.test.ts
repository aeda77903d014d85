import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../src/repo.ts';
import { LIBC_HELLO, type LibcHelloRow, libcHelloResult } from '../src/sections/libc-hello.ts';

describe('the libc hello fixture', () => {
  it('is main() writing one message as long as the official one (812 bytes) and returning 0', () => {
    const src = readFileSync(join(REPO, LIBC_HELLO), 'utf8');
    const literal = src.slice(src.indexOf('message[] ='), src.indexOf(';\n\nint main'));
    const text = [...literal.matchAll(/"((?:[^"\\]|\\.)*)"/g)]
      .map((m) => m[1]!.replace(/\\n/g, '\n').replace(/\\"/g, '"'))
      .join('');
    expect(text.length).toBe(812);
    expect(src).toMatch(
      /int main\(void\) \{\n\s+write\(STDOUT_FILENO, message, sizeof message - 1\);\n\s+return 0;\n\}/,
    );
  });
});

describe('libcHelloResult', () => {
  const row = (platform: string, gzip9: number, officialGzip9?: number): LibcHelloRow => ({
    platform,
    raw: gzip9 * 2,
    gzip9,
    beforeRaw: gzip9 * 3,
    beforeGzip9: gzip9 + 100,
    officialRaw: officialGzip9 === undefined ? undefined : officialGzip9 * 2,
    officialGzip9,
  });

  it('shows the gap per platform and fails the target when one is behind', () => {
    const r = libcHelloResult([
      row('linux/amd64', 2000, 2254),
      row('linux/ppc64le', 4000, 3244),
      row('linux/mips', 3000),
    ]);
    expect(r.table.rows.map((x) => x.at(-1))).toEqual(['89 %', '123 % (+756 B)', '—']);
    expect(r.target.met).toBe(false);
    expect(r.target.value).toBe('behind on linux/ppc64le (123 %)');
  });

  it('meets the target when every platform with an official binary is at or under it', () => {
    const r = libcHelloResult([row('linux/amd64', 2254, 2254), row('linux/mips', 9999)]);
    expect(r.target).toMatchObject({ met: true, value: 'max 100 %' });
  });
});
