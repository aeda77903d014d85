import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STARTUP_MEM_SOURCE, startupMemSource, startupOnlyMem } from '../src/startup-mem.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('startup-mem-');
});
afterAll(() => dir.cleanup());

describe('startupOnlyMem', () => {
  it('holds for programs that call only system-call wrappers, exit and errno', () => {
    expect(startupOnlyMem([])).toBe(true);
    expect(startupOnlyMem(['write'])).toBe(true);
    expect(startupOnlyMem(['.TOC.', 'write'])).toBe(true);
    expect(
      startupOnlyMem(['_GLOBAL_OFFSET_TABLE_', '_gp_disp', 'exit', 'read', 'syscall', '__errno_location']),
    ).toBe(true);
  });

  it('fails for a program that calls memcpy, memset or memmove itself, or anything else of the C library', () => {
    for (const call of [
      'memcpy',
      'memset',
      'memmove',
      'printf',
      'malloc',
      'fwrite',
      'strcpy',
      'getenv',
      'abort',
    ])
      expect(startupOnlyMem(['write', call]), call).toBe(false);
    // compiler-rt helpers too: nothing is assumed about what is not listed.
    expect(startupOnlyMem(['__udivti3'])).toBe(false);
  });

  it('fails for a program with a memcpy or memset of its own (a second one would not link)', () => {
    expect(startupOnlyMem(['write'], ['main'])).toBe(true);
    expect(startupOnlyMem(['write'], ['main', 'memcpy'])).toBe(false);
    expect(startupOnlyMem([], ['_start', 'memset'])).toBe(false);
  });
});

describe('the byte loops', () => {
  it('define memcpy and memset only, as loops clang may not turn back into calls or vectorise', () => {
    expect([...STARTUP_MEM_SOURCE.matchAll(/\bvoid \*(\w+)\(/g)].map((m) => m[1])).toEqual([
      'memcpy',
      'memset',
    ]);
    expect(STARTUP_MEM_SOURCE.match(/no_builtin, noinline/g)).toHaveLength(2);
    expect(STARTUP_MEM_SOURCE.match(/#pragma clang loop vectorize\(disable\)/g)).toHaveLength(2);
  });

  it('are written once, at a path named after their contents', () => {
    const a = startupMemSource(dir.path);
    expect(a).toBe(join(dir.path, a.slice(dir.path.length + 1)));
    expect(a).toMatch(/startup-mem-[0-9a-f]{16}\.c$/);
    expect(readFileSync(a, 'utf8')).toBe(STARTUP_MEM_SOURCE);
    expect(startupMemSource(dir.path)).toBe(a);
    expect(readFileSync(startupMemSource(), 'utf8')).toBe(STARTUP_MEM_SOURCE);
  });
});
