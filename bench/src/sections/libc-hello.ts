/**
 * A libc-using hello (`bench/fixtures/libc-hello.c`: main() writes an 812-byte message with write(2), the
 * official hello-world's message length) compiled the way `scratchpack build --c-source` compiles a user's
 * program — the default flags, `cSourceFlags` — and, for comparison, with the small-static flags alone (the
 * defaults before), next to the official hello-world binaries. Part of the size section.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileAll, cSourceFlags, PLATFORMS, SMALL_STATIC_FLAGS } from '@scratchpack/toolchain';
import { run } from '../exec.ts';
import { int, percent } from '../format.ts';
import { loadReference } from '../reference.ts';
import { REPO, tempDir } from '../repo.ts';
import type { Table, Target } from '../table.ts';

export const LIBC_HELLO = join('bench', 'fixtures', 'libc-hello.c');

export interface LibcHelloRow {
  platform: string;
  /** With the default --c-source flags. */
  raw: number;
  gzip9: number;
  /** With SMALL_STATIC_FLAGS only. */
  beforeRaw: number;
  beforeGzip9: number;
  officialRaw: number | undefined;
  officialGzip9: number | undefined;
}

async function gzip9n(path: string): Promise<number> {
  return Number((await run('bash', ['-c', 'gzip -9n -c "$1" | wc -c', 'gzip9', path])).trim());
}

/** Compile the fixture both ways for every platform and measure it. */
export async function measureLibcHello(log: (line: string) => void): Promise<LibcHelloRow[]> {
  const reference = new Map(loadReference().map((r) => [r.platform, r]));
  const tmp = await tempDir('libc-hello');
  try {
    const build = (
      tag: string,
      flags: typeof cSourceFlags | (() => readonly string[]),
      startupMem: boolean,
    ) =>
      compileAll({
        sources: [LIBC_HELLO],
        cwd: REPO,
        platforms: PLATFORMS,
        flags: (p) => flags(p),
        startupMem,
        out: (p) => join(tmp.path, tag, p.label),
      });
    log('compiling bench/fixtures/libc-hello.c for every platform (default --c-source flags, and before)');
    const now = await build('now', cSourceFlags, true);
    const before = await build('before', () => SMALL_STATIC_FLAGS, false);
    const rows: LibcHelloRow[] = [];
    for (const [i, r] of now.entries()) {
      const ref = reference.get(r.platform.name);
      rows.push({
        platform: r.platform.name,
        raw: (await readFile(r.out)).length,
        gzip9: await gzip9n(r.out),
        beforeRaw: before[i]!.bytes,
        beforeGzip9: await gzip9n(before[i]!.out),
        officialRaw: ref?.elfBytes,
        officialGzip9: ref?.gzip9Bytes,
      });
    }
    return rows;
  } finally {
    await tmp.cleanup();
  }
}

/** The table and target for the rows (pure). */
export function libcHelloResult(rows: LibcHelloRow[]): { table: Table; target: Target; notes: string[] } {
  const opt = (n: number | undefined) => (n === undefined ? '—' : int(n));
  const compared = rows.filter((r) => r.officialGzip9 !== undefined);
  const behind = compared.filter((r) => r.gzip9 > r.officialGzip9!);
  const gap = (r: LibcHelloRow) =>
    r.officialGzip9 === undefined
      ? '—'
      : `${percent(r.gzip9 / r.officialGzip9)}${r.gzip9 > r.officialGzip9 ? ` (+${int(r.gzip9 - r.officialGzip9)} B)` : ''}`;
  return {
    table: {
      title: 'libc-using hello via `--c-source` (bench/fixtures/libc-hello.c), bytes',
      header: [
        'platform',
        'before raw',
        'before gzip -9n',
        'now raw',
        'now gzip -9n',
        'official raw',
        'official gzip -9n',
        'now / official (gzip -9n)',
      ],
      rows: rows.map((r) => [
        r.platform,
        int(r.beforeRaw),
        int(r.beforeGzip9),
        int(r.raw),
        int(r.gzip9),
        opt(r.officialRaw),
        opt(r.officialGzip9),
        gap(r),
      ]),
      notes: [
        '`now`: what `--c-source` does by default: the flags of `cSourceFlags` (toolchain/src/c-source.ts: `SMALL_STATIC_FLAGS`, `-Wl,-z,norelro`, a linker script that discards `.comment`, MIPS `.pdr`/`.mdebug`, RISC-V/PowerPC attributes; `-fno-lto` on ppc64, ppc64le, riscv64) and, as this program calls only `write`, byte-loop `memcpy`/`memset` for musl’s start-up (toolchain/src/startup-mem.ts; a program that calls other C library functions keeps musl’s). `before`: `SMALL_STATIC_FLAGS` alone. Same zig for both.',
        'The official binaries are built from a `_start` without the C library start-up (`-nostartfiles`); this program has a `main`, so musl’s start-up (`__libc_start_main`, TLS and auxv set-up, `exit`) is in ours and not in theirs.',
      ],
    },
    target: {
      name: 'libc hello via --c-source, gzip -9n ≤ official, every platform',
      goal: '≤ 100 % on each',
      value: behind.length
        ? `behind on ${behind.map((r) => `${r.platform} (${percent(r.gzip9 / r.officialGzip9!)})`).join(', ')}`
        : `max ${percent(Math.max(...compared.map((r) => r.gzip9 / r.officialGzip9!)))}`,
      met: compared.length > 0 && behind.length === 0,
    },
    notes: [],
  };
}
