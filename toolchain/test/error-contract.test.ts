/** Every error of @scratchpack/toolchain is a ScratchpackError with a stable code. */
import { ScratchpackError } from '@scratchpack/oci';
import { describe, expect, it } from 'vitest';
import {
  CompileError,
  ElfError,
  findPlatform,
  type PlatformError,
  QemuMissingError,
  ZigNotFoundError,
} from '../src/index.ts';

describe('the error contract of @scratchpack/toolchain', () => {
  it('makes each error class a ScratchpackError with its code, name and message', () => {
    const unknown = (() => {
      try {
        findPlatform('linux/pdp11');
      } catch (e) {
        return e as PlatformError;
      }
      throw new Error('findPlatform accepted linux/pdp11');
    })();
    const cases: [ScratchpackError, string, string][] = [
      [unknown, 'PLATFORM_UNKNOWN', 'PlatformError'],
      [new CompileError('linux/amd64', 'x.c:1: error: nope\n'), 'COMPILE_FAILED', 'CompileError'],
      [new ZigNotFoundError([]), 'ZIG_NOT_FOUND', 'ZigNotFoundError'],
      [new QemuMissingError(findPlatform('linux/s390x')), 'QEMU_MISSING', 'QemuMissingError'],
      [
        new ElfError('BINARY_NOT_ELF', 'x is not an ELF executable', 'pass a program'),
        'BINARY_NOT_ELF',
        'ElfError',
      ],
    ];
    for (const [e, code, name] of cases) {
      expect(e).toBeInstanceOf(ScratchpackError);
      expect(e.code).toBe(code);
      expect(e.name).toBe(name);
      expect(e.temporary).toBe(false);
    }
    expect(unknown.message).toMatch(/^unknown platform "linux\/pdp11": expected one of linux\/amd64, /);
    expect(cases[1]![0].message).toBe('zig cc failed for linux/amd64:\nx.c:1: error: nope');
    expect(cases[3]![0].message).toBe(
      "cannot run linux/s390x here: qemu-s390x-static is not installed. Install Debian's qemu-user-static (`apt-get install qemu-user-static`)",
    );
    expect(cases[4]![0].hint).toBe('pass a program');
  });
});
