/** The ELF checker on small synthetic files: headers, program headers, PT_INTERP, DT_NEEDED, ARM float ABI. */

import { describe, expect, it } from 'vitest';
import {
  checkStaticBinary,
  EF_ARM_ABI_FLOAT_HARD,
  EF_ARM_ABI_FLOAT_SOFT,
  EF_MIPS_ABI_O32,
  EF_MIPS_ABI2,
  ElfError,
  elfMismatch,
  parseElf,
  parseElfHeader,
} from '../src/elf.ts';
import { findPlatform } from '../src/platforms.ts';

interface Fake {
  cls?: 32 | 64;
  big?: boolean;
  type?: number;
  machine: number;
  flags?: number;
  interp?: string;
  needed?: string[];
}

/** An ELF file: header, program headers (LOAD over everything, INTERP, DYNAMIC), then the data they point at. */
function fakeElf(f: Fake): Buffer {
  const is64 = (f.cls ?? 64) === 64;
  const le = !f.big;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phs: { type: number; data: Buffer }[] = [];
  if (f.interp !== undefined) phs.push({ type: 3, data: Buffer.from(`${f.interp}\0`) });
  let strtab = Buffer.alloc(0);
  if (f.needed) {
    const names = Buffer.from(`\0${f.needed.join('\0')}\0`);
    strtab = names;
  }
  const phnum = 1 + phs.length + (f.needed ? 1 : 0);
  let cursor = ehsize + phnum * phentsize;
  const body: Buffer[] = [];
  const segs: { type: number; offset: number; size: number }[] = [];
  for (const p of phs) {
    segs.push({ type: p.type, offset: cursor, size: p.data.length });
    body.push(p.data);
    cursor += p.data.length;
  }
  const strtabOffset = cursor;
  body.push(strtab);
  cursor += strtab.length;
  if (f.needed) {
    const entry = is64 ? 16 : 8;
    const dyn = Buffer.alloc(entry * (f.needed.length + 2));
    const put = (o: number, v: number) => {
      if (is64) le ? dyn.writeBigUInt64LE(BigInt(v), o) : dyn.writeBigUInt64BE(BigInt(v), o);
      else le ? dyn.writeUInt32LE(v, o) : dyn.writeUInt32BE(v, o);
    };
    let nameAt = 1;
    f.needed.forEach((n, i) => {
      put(i * entry, 1);
      put(i * entry + entry / 2, nameAt);
      nameAt += n.length + 1;
    });
    put(f.needed.length * entry, 5);
    put(f.needed.length * entry + entry / 2, 0x400000 + strtabOffset);
    segs.push({ type: 2, offset: cursor, size: dyn.length });
    body.push(dyn);
    cursor += dyn.length;
  }
  segs.unshift({ type: 1, offset: 0, size: cursor });
  const h = Buffer.alloc(ehsize + phnum * phentsize);
  h.writeUInt32BE(0x7f454c46, 0);
  h[4] = is64 ? 2 : 1;
  h[5] = le ? 1 : 2;
  h[6] = 1;
  const u16 = (v: number, o: number) => (le ? h.writeUInt16LE(v, o) : h.writeUInt16BE(v, o));
  const u32 = (v: number, o: number) => (le ? h.writeUInt32LE(v, o) : h.writeUInt32BE(v, o));
  const word = (v: number, o: number) =>
    is64 ? (le ? h.writeBigUInt64LE(BigInt(v), o) : h.writeBigUInt64BE(BigInt(v), o)) : u32(v, o);
  u16(f.type ?? 2, 16);
  u16(f.machine, 18);
  u32(1, 20);
  word(ehsize, is64 ? 32 : 28);
  u32(f.flags ?? 0, is64 ? 48 : 36);
  u16(ehsize, is64 ? 52 : 40);
  u16(phentsize, is64 ? 54 : 42);
  u16(phnum, is64 ? 56 : 44);
  segs.forEach((s, i) => {
    const o = ehsize + i * phentsize;
    u32(s.type, o);
    const vaddr = 0x400000 + s.offset;
    if (is64) {
      word(s.offset, o + 8);
      word(vaddr, o + 16);
      word(s.size, o + 32);
    } else {
      u32(s.offset, o + 4);
      u32(vaddr, o + 8);
      u32(s.size, o + 16);
    }
  });
  return Buffer.concat([h, ...body]);
}

const amd64 = findPlatform('linux/amd64');
const arm64 = findPlatform('linux/arm64');
const armv5 = findPlatform('linux/arm/v5');
const armv7 = findPlatform('linux/arm/v7');

function refusal(buf: Buffer, spec = amd64): ElfError {
  try {
    checkStaticBinary(buf, 'prog', spec);
  } catch (e) {
    if (e instanceof ElfError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('parseElf', () => {
  it('reads class, byte order, machine, flags, interpreter and needed libraries', () => {
    const info = parseElf(
      fakeElf({
        machine: 62,
        type: 3,
        interp: '/lib64/ld-linux-x86-64.so.2',
        needed: ['libc.so.6', 'libm.so.6'],
      }),
    );
    expect(info).toEqual({
      elfClass: 64,
      endian: 'little',
      type: 3,
      machine: 62,
      flags: 0,
      interpreter: '/lib64/ld-linux-x86-64.so.2',
      needed: ['libc.so.6', 'libm.so.6'],
    });
    const be = parseElf(fakeElf({ machine: 22, big: true, needed: ['libc.so'] }));
    expect([be.endian, be.machine, be.needed]).toEqual(['big', 22, ['libc.so']]);
    expect(parseElf(fakeElf({ cls: 32, machine: 40, flags: 0x5000400 })).flags).toBe(0x5000400);
  });

  it('refuses what is not ELF, or is cut short', () => {
    expect(() => parseElf(Buffer.from('#!/bin/sh\necho hi\n'.repeat(4)), 'run.sh')).toThrow(
      /run\.sh is not an ELF executable: no ELF magic/,
    );
    const whole = fakeElf({ machine: 62, interp: '/lib/ld.so' });
    expect(() => parseElf(whole.subarray(0, 80), 'cut')).toThrow(/program headers past the end/);
  });
});

describe('checkStaticBinary', () => {
  it('accepts static executables and static PIE (PT_DYNAMIC without DT_NEEDED)', () => {
    expect(checkStaticBinary(fakeElf({ machine: 62 }), 'prog', amd64).machine).toBe(62);
    expect(checkStaticBinary(fakeElf({ machine: 62, type: 3, needed: [] }), 'prog', amd64).type).toBe(3);
    expect(checkStaticBinary(fakeElf({ machine: 183 }), 'prog', arm64).elfClass).toBe(64);
  });

  it('refuses a dynamic binary, naming the loader and libraries and how to link statically', () => {
    const e = refusal(
      fakeElf({ machine: 62, type: 3, interp: '/lib64/ld-linux-x86-64.so.2', needed: ['libc.so.6'] }),
    );
    expect(e.code).toBe('BINARY_DYNAMIC');
    expect(e.message).toBe(
      'prog is dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2; needs libc.so.6): a FROM scratch image has no dynamic loader or shared libraries',
    );
    expect(e.hint).toMatch(/CGO_ENABLED=0/);
    expect(e.hint).toMatch(/crt-static/);
    expect(e.hint).toMatch(/-static/);
    expect(refusal(fakeElf({ machine: 62, type: 3, needed: ['libfoo.so'] })).message).toMatch(
      /is a shared library \(needs libfoo\.so\)/,
    );
  });

  it('refuses the wrong machine, class or byte order, saying both', () => {
    const e = refusal(fakeElf({ machine: 62 }), arm64);
    expect(e.code).toBe('BINARY_WRONG_ARCH');
    expect(e.message).toBe(
      'prog is built for Advanced Micro Devices X86-64, 64-bit, little-endian, not for linux/arm64/v8 (AArch64, 64-bit, little-endian)',
    );
    expect(e.hint).toMatch(/--binary linux\/arm64\/v8=PATH/);
    expect(refusal(fakeElf({ cls: 32, machine: 3 })).message).toMatch(/Intel 80386, 32-bit/);
    expect(refusal(fakeElf({ machine: 62, big: true })).message).toMatch(/big-endian, not for linux\/amd64/);
    expect(refusal(fakeElf({ machine: 40, cls: 32 }), arm64).code).toBe('BINARY_WRONG_ARCH');
  });

  it('refuses object files', () => {
    expect(refusal(fakeElf({ machine: 62, type: 1 })).message).toMatch(
      /is an ELF object file, not an executable/,
    );
  });

  it('refuses hard-float ARM for v5 only; soft-float runs everywhere', () => {
    const hard = fakeElf({ cls: 32, machine: 40, flags: 0x5000000 | EF_ARM_ABI_FLOAT_HARD });
    const soft = fakeElf({ cls: 32, machine: 40, flags: 0x5000000 | EF_ARM_ABI_FLOAT_SOFT });
    expect(refusal(hard, armv5).message).toMatch(/hard-float ABI/);
    expect(checkStaticBinary(hard, 'prog', armv7).flags & EF_ARM_ABI_FLOAT_HARD).toBeTruthy();
    expect(checkStaticBinary(soft, 'prog', armv5).machine).toBe(40);
    expect(checkStaticBinary(soft, 'prog', armv7).machine).toBe(40);
  });

  it('knows every machine of the matrix, with its class and byte order', () => {
    const cases: [string, number, 32 | 64, boolean][] = [
      ['linux/s390x', 22, 64, true],
      ['linux/loong64', 258, 64, false],
      ['linux/ppc64', 21, 64, true],
      ['linux/ppc64le', 21, 64, false],
      ['linux/mips', 8, 32, true],
      ['linux/mipsle', 8, 32, false],
      ['linux/mips64', 8, 64, true],
      ['linux/mips64le', 8, 64, false],
    ];
    for (const [name, machine, cls, big] of cases) {
      const spec = findPlatform(name);
      const flags = cls === 32 ? EF_MIPS_ABI_O32 : 0;
      expect(checkStaticBinary(fakeElf({ machine, cls, big, flags }), 'prog', spec).machine, name).toBe(
        machine,
      );
      // The same machine with the other byte order is another platform.
      expect(refusal(fakeElf({ machine, cls, big: !big, flags }), spec).message, name).toMatch(
        big ? /little-endian, not for/ : /big-endian, not for/,
      );
    }
    expect(refusal(fakeElf({ machine: 22, cls: 32, big: true }), findPlatform('linux/s390x')).message).toBe(
      'prog is built for IBM S/390, 32-bit, big-endian, not for linux/s390x (IBM S/390, 64-bit, big-endian)',
    );
  });

  it('accepts o32 on 32-bit MIPS (also with the ABI field left 0) and refuses n32', () => {
    const mips = findPlatform('linux/mips');
    const mipsle = findPlatform('linux/mipsle');
    expect(checkStaticBinary(fakeElf({ machine: 8, cls: 32, big: true }), 'p', mips).flags).toBe(0);
    const n32 = fakeElf({ machine: 8, cls: 32, flags: EF_MIPS_ABI2 + 0x80000000 });
    const e = refusal(n32, mipsle);
    expect(e.code).toBe('BINARY_WRONG_ARCH');
    expect(e.message).toBe(
      'prog uses the MIPS n32 ABI, not o32: linux/mipsle CPUs and kernels run o32 programs',
    );
    expect(e.hint).toMatch(/GOARCH=mipsle/);
    expect(refusal(fakeElf({ machine: 8, cls: 32, big: true, flags: 0x3000 }), mips).message).toMatch(
      /uses the MIPS EABI ABI, not o32/,
    );
  });
});

describe('parseElfHeader and elfMismatch (the check of every file a build copies)', () => {
  it('reads the header from its first 64 bytes; anything else is not ELF', () => {
    const h = parseElfHeader(fakeElf({ machine: 183 }).subarray(0, 64));
    expect(h).toEqual({ elfClass: 64, endian: 'little', type: 2, machine: 183, flags: 0 });
    expect(parseElfHeader(Buffer.from('#!/bin/sh\necho hi\n'.repeat(4)))).toBeUndefined();
    expect(parseElfHeader(fakeElf({ machine: 62 }).subarray(0, 40))).toBeUndefined();
  });

  it('says why a header does not fit a platform, and nothing when it does', () => {
    const arm64 = findPlatform('linux/arm64');
    const amd64 = parseElfHeader(fakeElf({ machine: 62 }))!;
    expect(elfMismatch(amd64, findPlatform('linux/amd64'))).toBeUndefined();
    expect(elfMismatch(amd64, arm64)).toBe(
      'is built for Advanced Micro Devices X86-64, 64-bit, little-endian, not for linux/arm64/v8 (AArch64, 64-bit, little-endian)',
    );
    const hard = parseElfHeader(fakeElf({ cls: 32, machine: 40, flags: 0x5000000 | EF_ARM_ABI_FLOAT_HARD }))!;
    expect(elfMismatch(hard, findPlatform('linux/arm/v7'))).toBeUndefined();
    expect(elfMismatch(hard, findPlatform('linux/arm/v5'))).toMatch(/hard-float ABI/);
    const n32 = parseElfHeader(fakeElf({ machine: 8, cls: 32, flags: EF_MIPS_ABI2 }))!;
    expect(elfMismatch(n32, findPlatform('linux/mipsle'))).toMatch(/MIPS n32 ABI, not o32/);
  });
});
