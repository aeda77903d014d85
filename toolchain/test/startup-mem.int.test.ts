/**
 * Byte-loop memcpy/memset for programs that need them only to start (startup-mem.ts), with the real zig and
 * qemu-user: the choice is read from real object files of every byte order and class, a program that qualifies
 * gets smaller and still runs on every platform, and one that calls memcpy itself gets the very same bytes as
 * without the option.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cSourceFlags } from '../src/c-source.ts';
import { compile, compileAll } from '../src/compile.ts';
import { ElfError, objectSymbols } from '../src/elf.ts';
import { findPlatform, PLATFORMS } from '../src/platforms.ts';
import { runArgv } from '../src/qemu.ts';
import { startupOnlyMem } from '../src/startup-mem.ts';
import { resolveZig } from '../src/zig.ts';

const WRITES = `#include <unistd.h>
static const char msg[] = "started with byte loops\\n";
int main(void) { write(1, msg, sizeof msg - 1); return 0; }
`;
/** Copies at run time with memcpy, and prints with printf: musl's memcpy must stay. */
const COPIES = `#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  char buf[256];
  size_t n = strlen(argv[0]) % sizeof buf;
  memcpy(buf, argv[0], n);
  buf[n] = 0;
  printf("%s %d\\n", buf, argc);
  return 0;
}
`;

/** Only writes, but brings a memcpy of its own (as freestanding code does): adding another would not link. */
const OWN = `#include <stddef.h>
#include <unistd.h>
void *memcpy(void *restrict d, const void *restrict s, size_t n) { return __builtin_memmove(d, s, n); }
int main(void) { write(1, "own\\n", 4); return 0; }
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'byte-loops-int-'));
  await writeFile(join(dir, 'writes.c'), WRITES);
  await writeFile(join(dir, 'copies.c'), COPIES);
  await writeFile(join(dir, 'own.c'), OWN);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const zig = () => resolveZig();
/** The byte loops' file in a compile's command line. */
const STARTUP_MEM_FILE = /startup-mem-[0-9a-f]{16}\.c$/;

describe('objectSymbols of zig cc -c objects', () => {
  it('reads what an object needs, in each class and byte order', () => {
    for (const name of ['linux/amd64', 'linux/ppc64', 'linux/386', 'linux/mips']) {
      const p = findPlatform(name)!;
      for (const [src, want] of [
        ['writes.c', ['write']],
        ['copies.c', ['memcpy', 'printf', 'strlen']],
      ] as const) {
        const obj = join(dir, `${p.label}-${src}.o`);
        const z = zig();
        execFileSync(
          z.path,
          ['cc', '-target', p.zigTarget, `-mcpu=${p.zigCpu}`, '-Os', '-fno-lto', '-c', '-o', obj, src],
          {
            cwd: dir,
            stdio: 'ignore',
          },
        );
        const got = objectSymbols(readFileSync(obj), obj).undefined;
        // The linker's own symbols (PowerPC's .TOC., MIPS' _gp_disp…) come along; calls are exactly these.
        expect(
          got.filter((s) => !s.startsWith('.') && !s.startsWith('_g')),
          `${name} ${src}`,
        ).toEqual(want);
        expect(startupOnlyMem(got), `${name} ${src}`).toBe(src === 'writes.c');
      }
    }
  });

  it('refuses an executable, a file that is not ELF and a stripped object', async () => {
    const out = join(dir, 'exe');
    await compile({ sources: ['writes.c'], cwd: dir, platform: 'linux/amd64', out, zig: zig() });
    expect(() => objectSymbols(readFileSync(out), 'exe')).toThrow(ElfError);
    expect(() => objectSymbols(Buffer.from('#!/bin/sh\n'), 'script')).toThrow(/script is not an ELF object/);
    // An object without its symbol table (as strip(1) leaves one) says nothing, which is not "needs nothing":
    // a real object whose symbol table's section is turned into an empty one (SHT_NULL).
    const obj = join(dir, 'full.o');
    execFileSync(
      zig().path,
      ['cc', '-target', 'x86_64-linux-musl', '-Os', '-fno-lto', '-c', '-o', obj, 'copies.c'],
      {
        cwd: dir,
        stdio: 'ignore',
      },
    );
    const stripped = readFileSync(obj);
    expect(objectSymbols(stripped).undefined).toContain('memcpy');
    const shoff = Number(stripped.readBigUInt64LE(0x28));
    for (let i = 0; i < stripped.readUInt16LE(0x3c); i++) {
      const type = shoff + i * stripped.readUInt16LE(0x3a) + 4;
      if (stripped.readUInt32LE(type) === 2) stripped.writeUInt32LE(0, type);
    }
    expect(() => objectSymbols(stripped, 'stripped.o')).toThrow(
      /stripped\.o is not an ELF object: no symbol table/,
    );
  });
});

describe('compile with startupMem', () => {
  it('links the byte loops into a program that only writes, on every platform, and it still runs', async () => {
    const small = await compileAll({
      sources: ['writes.c'],
      cwd: dir,
      platforms: PLATFORMS,
      zig: zig(),
      flags: (p) => cSourceFlags(p),
      startupMem: true,
      out: (p) => join(dir, 'small', p.label),
    });
    for (const r of small) {
      const p = r.platform;
      expect(
        r.argv.some((a) => STARTUP_MEM_FILE.test(a)),
        p.name,
      ).toBe(true);
      const [cmd, ...args] = runArgv(p, r.out, [], { pinCpu: true });
      expect(execFileSync(cmd!, args, { encoding: 'utf8' }), p.name).toBe('started with byte loops\n');
    }
    // Smaller: where musl's are vector code (POWER) and where they are assembly (amd64). The bench's size section
    // compares every platform.
    for (const name of ['linux/ppc64le', 'linux/amd64']) {
      const p = findPlatform(name);
      const plain = await compile({
        sources: ['writes.c'],
        cwd: dir,
        platform: p,
        out: join(dir, 'plain', p.label),
        zig: zig(),
        flags: cSourceFlags(p),
      });
      expect(
        plain.argv.some((a) => STARTUP_MEM_FILE.test(a)),
        name,
      ).toBe(false);
      expect(small.find((r) => r.platform.name === name)!.bytes, name).toBeLessThan(plain.bytes);
    }
  });

  it('leaves a program that calls memcpy, or has its own, byte for byte as it was', async () => {
    // own.c where it would not link (no LTO on ppc64le: two memcpy definitions), copies.c under LTO.
    for (const [source, name] of [
      ['own.c', 'linux/ppc64le'],
      ['copies.c', 'linux/amd64'],
    ] as const) {
      const p = findPlatform(name)!;
      const out = (tag: string) => join(dir, `${source}-${tag}-${p.label}`);
      const flags = cSourceFlags(p);
      const build = (tag: string, startupMem: boolean) =>
        compile({ sources: [source], cwd: dir, platform: p, out: out(tag), zig: zig(), flags, startupMem });
      const a = await build('a', true);
      const b = await build('b', false);
      expect(
        a.argv.some((x) => STARTUP_MEM_FILE.test(x)),
        `${source} ${name}`,
      ).toBe(false);
      expect(readFileSync(a.out).equals(readFileSync(b.out)), `${source} ${name}`).toBe(true);
    }
  });
});
