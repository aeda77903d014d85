/**
 * Just enough ELF to tell whether a file is a static executable for a platform: the header (class,
 * byte order, type, machine, flags) and the program headers (PT_INTERP, PT_DYNAMIC → DT_NEEDED).
 * Pure functions over a Buffer; `checkStaticBinary` turns a mismatch into an error that says what to do.
 */
import { ScratchpackError } from '@scratchpack/oci';
import type { PlatformSpec } from './platforms.ts';

const ET_EXEC = 2;
const ET_DYN = 3;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
/** ARM EABI5 float ABI flags in e_flags. */
export const EF_ARM_ABI_FLOAT_SOFT = 0x200;
export const EF_ARM_ABI_FLOAT_HARD = 0x400;

/** e_machine values, with the names `readelf -h` prints (the platform matrix uses those names). */
export const ELF_MACHINES: Readonly<Record<number, string>> = Object.freeze({
  3: 'Intel 80386',
  8: 'MIPS R3000',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'IBM S/390',
  40: 'ARM',
  62: 'Advanced Micro Devices X86-64',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch',
});

/** MIPS e_flags: the ABI field (o32 = 1; 0 from old toolchains means o32 too) and the n32 bit. */
export const EF_MIPS_ABI = 0x0000f000;
export const EF_MIPS_ABI_O32 = 0x00001000;
export const EF_MIPS_ABI2 = 0x00000020;

export interface ElfInfo {
  elfClass: 32 | 64;
  endian: 'little' | 'big';
  /** e_type: 2 executable, 3 shared object / PIE. */
  type: number;
  machine: number;
  flags: number;
  /** The PT_INTERP path (the dynamic loader), when there is one. */
  interpreter: string | undefined;
  /** DT_NEEDED libraries (names when the string table could be read, else `?`). */
  needed: string[];
}

export class ElfError extends ScratchpackError {
  declare readonly code: 'BINARY_NOT_ELF' | 'BINARY_DYNAMIC' | 'BINARY_WRONG_ARCH' | 'BINARY_NOT_EXECUTABLE';
  constructor(code: ElfError['code'], message: string, hint?: string) {
    super(code, message, { hint });
    this.name = 'ElfError';
  }
}

/** The ELF header fields that say which machine runs a file: in the first {@link ELF_HEADER_BYTES} bytes. */
export interface ElfHeader {
  elfClass: 32 | 64;
  endian: 'little' | 'big';
  type: number;
  machine: number;
  flags: number;
}

/** Bytes to read for {@link parseElfHeader}. */
export const ELF_HEADER_BYTES = 64;

/**
 * The header of an ELF file, or `undefined` when `buf` does not start with one (no magic, unknown class or
 * byte order, truncated): for telling ELF files apart from others, e.g. every file a build copies.
 */
export function parseElfHeader(buf: Buffer): ElfHeader | undefined {
  if (buf.length < 52 || buf.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const cls = buf[4];
  const data = buf[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return undefined;
  const is64 = cls === 2;
  if (is64 && buf.length < 64) return undefined;
  const le = data === 1;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  return {
    elfClass: is64 ? 64 : 32,
    endian: le ? 'little' : 'big',
    type: u16(16),
    machine: u16(18),
    flags: u32(is64 ? 48 : 36),
  };
}

/**
 * Readers of `buf`'s integers in its byte order: `word` is an address, offset or size (32 or 64 bits by class),
 * capped at `Number.MAX_SAFE_INTEGER` (past the end of any buffer, so bounds checks refuse it).
 */
function elfReaders(buf: Buffer, is64: boolean, le: boolean) {
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const word = (o: number): number => {
    if (!is64) return u32(o);
    const v = le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  return { u16, u32, word };
}

/** Parse the parts of an ELF file we check. Throws `ElfError` (BINARY_NOT_ELF) for anything else. */
export function parseElf(buf: Buffer, file = 'file'): ElfInfo {
  const notElf = (why: string) =>
    new ElfError(
      'BINARY_NOT_ELF',
      `${file} is not an ELF executable: ${why}`,
      'pass a compiled Linux program',
    );
  if (buf.length < 52 || buf.readUInt32BE(0) !== 0x7f454c46) throw notElf('no ELF magic');
  const cls = buf[4];
  const data = buf[5];
  if (cls !== 1 && cls !== 2) throw notElf(`unknown ELF class ${cls}`);
  if (data !== 1 && data !== 2) throw notElf(`unknown byte order ${data}`);
  const is64 = cls === 2;
  const le = data === 1;
  const { u16, u32, word } = elfReaders(buf, is64, le);
  if (is64 && buf.length < 64) throw notElf('truncated header');
  const { type, machine, flags } = parseElfHeader(buf)!;
  const phoff = word(is64 ? 32 : 28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  const segs: { type: number; offset: number; vaddr: number; filesz: number }[] = [];
  if (phnum > 0 && phentsize < (is64 ? 56 : 32)) throw notElf(`program header size ${phentsize}`);
  if (phoff + phnum * phentsize > buf.length) throw notElf('program headers past the end of the file');
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    segs.push(
      is64
        ? { type: u32(o), offset: word(o + 8), vaddr: word(o + 16), filesz: word(o + 32) }
        : { type: u32(o), offset: u32(o + 4), vaddr: u32(o + 8), filesz: u32(o + 16) },
    );
  }
  const inFile = (s: { offset: number; filesz: number }) => s.offset + s.filesz <= buf.length;
  const interp = segs.find((s) => s.type === PT_INTERP);
  const interpreter =
    interp && inFile(interp)
      ? buf
          .subarray(interp.offset, interp.offset + interp.filesz)
          .toString('latin1')
          .replace(/\0.*$/s, '')
      : interp
        ? '?'
        : undefined;
  const needed: string[] = [];
  const dyn = segs.find((s) => s.type === PT_DYNAMIC);
  if (dyn && inFile(dyn)) {
    const size = is64 ? 16 : 8;
    const offsets: number[] = [];
    let strtab: number | undefined;
    for (let o = dyn.offset; o + size <= dyn.offset + dyn.filesz; o += size) {
      const tag = word(o);
      if (tag === DT_NULL) break;
      if (tag === DT_NEEDED) offsets.push(word(o + size / 2));
      if (tag === DT_STRTAB) strtab = word(o + size / 2);
    }
    // DT_STRTAB is an address: find the loaded segment that holds it to get a file offset.
    const load = segs.find(
      (s) => s.type === PT_LOAD && strtab !== undefined && strtab >= s.vaddr && strtab < s.vaddr + s.filesz,
    );
    for (const off of offsets) {
      const at = load && strtab !== undefined ? strtab - load.vaddr + load.offset + off : -1;
      const end = at >= 0 ? buf.indexOf(0, at) : -1;
      needed.push(end > at ? buf.subarray(at, end).toString('latin1') : '?');
    }
  }
  return {
    elfClass: is64 ? 64 : 32,
    endian: le ? 'little' : 'big',
    type,
    machine,
    flags,
    interpreter,
    needed,
  };
}

/** What a platform of the matrix expects of its binaries. */
export function expectedElf(spec: PlatformSpec): {
  machine: number;
  elfClass: 32 | 64;
  endian: 'little' | 'big';
} {
  const entry = Object.entries(ELF_MACHINES).find(([, name]) => name === spec.elfMachine);
  if (!entry) throw new Error(`platform matrix: unknown ELF machine name ${spec.elfMachine}`);
  return {
    machine: Number(entry[0]),
    elfClass: spec.elfClass,
    endian: spec.endian,
  };
}

/** `AArch64, 64-bit, little-endian`. */
export const describeElf = (e: { machine: number; elfClass: number; endian: string }) =>
  `${ELF_MACHINES[e.machine] ?? `machine ${e.machine}`}, ${e.elfClass}-bit, ${e.endian}-endian`;

/** How to get a static build for `spec`, per language. */
export function staticHint(spec: PlatformSpec): string {
  return `link it statically for ${spec.name}: Go \`CGO_ENABLED=0 go build\`; Rust \`--target <arch>-unknown-linux-musl\` (RUSTFLAGS="-C target-feature=+crt-static"); C \`zig cc -target ${spec.zigTarget} -static\` or \`gcc -static\``;
}

/**
 * Why a file with ELF header `h` cannot run on `spec`, in a few words (`is built for AArch64, 64-bit,
 * little-endian`, `uses the hard-float ABI …`), or `undefined` when it can: machine, class and byte order,
 * the float ABI on arm/v5, the o32 ABI on 32-bit MIPS.
 */
export function elfMismatch(h: ElfHeader, spec: PlatformSpec): string | undefined {
  const want = expectedElf(spec);
  if (h.machine !== want.machine || h.elfClass !== want.elfClass || h.endian !== want.endian) {
    return `is built for ${describeElf(h)}, not for ${spec.name} (${describeElf(want)})`;
  }
  const arch = spec.platform.architecture;
  if (arch === 'arm' && spec.platform.variant === 'v5' && h.flags & EF_ARM_ABI_FLOAT_HARD) {
    return `uses the hard-float ABI (VFP registers), which ${spec.name} CPUs do not have`;
  }
  if ((arch === 'mips' || arch === 'mipsle') && mipsAbi(h.flags) !== 'o32') {
    return `uses the MIPS ${mipsAbi(h.flags)} ABI, not o32: ${spec.name} CPUs and kernels run o32 programs`;
  }
  return undefined;
}

/** How to build for `spec` when a binary {@link elfMismatch}es it. */
function archHint(h: ElfHeader, spec: PlatformSpec): string {
  const arch = spec.platform.architecture;
  if (arch === 'arm' && h.machine === 40)
    return `build it soft-float for ${spec.name}: GOARM=5, zig cc -target ${spec.zigTarget}, or Rust arm-unknown-linux-musleabi`;
  if ((arch === 'mips' || arch === 'mipsle') && h.machine === 8 && h.elfClass === 32)
    return `build it for the o32 ABI: GOARCH=${arch}, zig cc -target ${spec.zigTarget}, or gcc -mabi=32`;
  return `build it for ${spec.name} (e.g. zig cc -target ${spec.zigTarget}) and pass it as --binary ${spec.name}=PATH`;
}

/**
 * Check that `buf` (read from `file`) is a static executable for `spec`; returns the parsed header or
 * throws `ElfError` saying what is wrong and what to do.
 */
export function checkStaticBinary(buf: Buffer, file: string, spec: PlatformSpec): ElfInfo {
  const info = parseElf(buf, file);
  const wrong = elfMismatch(info, spec);
  if (wrong) throw new ElfError('BINARY_WRONG_ARCH', `${file} ${wrong}`, archHint(info, spec));
  if (info.type !== ET_EXEC && info.type !== ET_DYN) {
    throw new ElfError(
      'BINARY_NOT_EXECUTABLE',
      `${file} is an ELF ${info.type === 1 ? 'object file' : `file of type ${info.type}`}, not an executable`,
      'link it into a program first',
    );
  }
  if (info.interpreter !== undefined || info.needed.length > 0) {
    const what = [
      info.interpreter !== undefined ? `interpreter ${info.interpreter}` : '',
      info.needed.length ? `needs ${info.needed.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    const kind = info.interpreter === undefined ? 'a shared library' : 'dynamically linked';
    throw new ElfError(
      'BINARY_DYNAMIC',
      `${file} is ${kind} (${what}): a FROM scratch image has no dynamic loader or shared libraries`,
      staticHint(spec),
    );
  }
  return info;
}

/** The ABI a 32-bit MIPS ELF header names in e_flags. */
function mipsAbi(flags: number): string {
  if (flags & EF_MIPS_ABI2) return 'n32';
  const abi = flags & EF_MIPS_ABI;
  if (abi === 0 || abi === EF_MIPS_ABI_O32) return 'o32';
  return abi === 0x2000 ? 'o64' : 'EABI';
}

/**
 * The global (and weak) symbols of an ELF relocatable object (`zig cc -c` output), each sorted: those it uses but
 * does not define (`undefined`: what it needs from other objects and libraries), and those it defines (`defined`).
 * Any class and byte order. Throws `ElfError` (BINARY_NOT_ELF) for a file that is not a relocatable ELF object, has
 * no symbol table (stripped), or whose symbol table does not fit inside it.
 */
export function objectSymbols(buf: Buffer, file = 'object'): { undefined: string[]; defined: string[] } {
  const bad = (why: string) =>
    new ElfError('BINARY_NOT_ELF', `${file} is not an ELF object: ${why}`, 'compile it with zig cc -c');
  const h = parseElfHeader(buf);
  if (!h) throw bad('no ELF header');
  if (h.type !== 1) throw bad(`ELF type ${h.type}, not a relocatable object`);
  const is64 = h.elfClass === 64;
  const { u16, u32, word } = elfReaders(buf, is64, h.endian === 'little');
  const shoff = word(is64 ? 40 : 32);
  const shentsize = u16(is64 ? 58 : 46);
  const shnum = u16(is64 ? 60 : 48);
  if (shentsize < (is64 ? 64 : 40) || shoff + shnum * shentsize > buf.length)
    throw bad('section headers past the end of the file');
  const section = (i: number) => {
    const o = shoff + i * shentsize;
    return is64
      ? {
          type: u32(o + 4),
          offset: word(o + 24),
          size: word(o + 32),
          link: u32(o + 40),
          entsize: word(o + 56),
        }
      : { type: u32(o + 4), offset: u32(o + 16), size: u32(o + 20), link: u32(o + 24), entsize: u32(o + 36) };
  };
  const SHT_SYMTAB = 2;
  const names = new Set<string>();
  const defined = new Set<string>();
  let tables = 0;
  for (let i = 0; i < shnum; i++) {
    const symtab = section(i);
    if (symtab.type !== SHT_SYMTAB) continue;
    tables++;
    if (symtab.link >= shnum) throw bad('symbol table without its string table');
    const strtab = section(symtab.link);
    const symSize = is64 ? 24 : 16;
    if (
      symtab.entsize < symSize ||
      symtab.offset + symtab.size > buf.length ||
      strtab.offset + strtab.size > buf.length
    )
      throw bad('symbol table past the end of the file');
    for (let o = symtab.offset; o + symSize <= symtab.offset + symtab.size; o += symtab.entsize) {
      const nameOff = u32(o);
      const info = buf[o + (is64 ? 4 : 12)]!;
      const shndx = u16(o + (is64 ? 6 : 14));
      const bind = info >> 4;
      // STB_GLOBAL or STB_WEAK, a name; SHN_UNDEF (0) is used, any other section index defined.
      if ((bind !== 1 && bind !== 2) || nameOff === 0) continue;
      const start = strtab.offset + nameOff;
      const end = buf.indexOf(0, start);
      if (start >= strtab.offset + strtab.size || end < 0) throw bad('symbol name past its string table');
      (shndx === 0 ? names : defined).add(buf.toString('latin1', start, end));
    }
  }
  // A stripped object says nothing of what it needs: not "nothing".
  if (tables === 0) throw bad('no symbol table (stripped)');
  return { undefined: [...names].sort(), defined: [...defined].sort() };
}
