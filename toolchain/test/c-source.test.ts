import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { C_SOURCE_LINKER_SCRIPT, cSourceFlags, cSourceLinkerScript } from '../src/c-source.ts';
import { SMALL_STATIC_FLAGS } from '../src/compile.ts';
import { PLATFORMS } from '../src/platforms.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('ld-');
});
afterAll(() => dir.cleanup());

describe('default --c-source flags', () => {
  it('are the small-static flags, no RELRO and the linker script; no LTO on POWER and RISC-V', () => {
    const script = join(dir.path, 'x.ld');
    const base = [...SMALL_STATIC_FLAGS, '-Wl,-z,norelro', `-Wl,-T,${script}`];
    for (const p of PLATFORMS) {
      const noLto = ['linux/ppc64', 'linux/ppc64le', 'linux/riscv64'].includes(p.name);
      expect(cSourceFlags(p, script), p.name).toEqual(noLto ? [...base, '-fno-lto'] : base);
    }
  });

  it('the linker script only discards sections, keeping the default layout (INSERT)', () => {
    expect(C_SOURCE_LINKER_SCRIPT).toMatch(/\/DISCARD\/ : \{[^}]*\*\(\.comment\)[^}]*\*\(\.pdr\)/);
    expect(C_SOURCE_LINKER_SCRIPT).toMatch(/INSERT AFTER \.bss;/);
    // Loaded sections and the ARM attributes (the CPU variant) are never dropped.
    expect(C_SOURCE_LINKER_SCRIPT).not.toMatch(/\.text|\.data|\.rodata|\.init|ARM\.attributes|abiflags/);
  });

  it('writes the script once, at a path named after its contents', () => {
    const a = cSourceLinkerScript(dir.path);
    expect(a).toMatch(/c-source-[0-9a-f]{16}\.ld$/);
    expect(readFileSync(a, 'utf8')).toBe(C_SOURCE_LINKER_SCRIPT);
    expect(cSourceLinkerScript(dir.path)).toBe(a);
    expect(cSourceLinkerScript()).toBe(cSourceLinkerScript());
    expect(readFileSync(cSourceLinkerScript(), 'utf8')).toBe(C_SOURCE_LINKER_SCRIPT);
  });
});
