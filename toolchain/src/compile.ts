/** Cross-compiling C with `zig cc` for one platform, or many in parallel with a concurrency limit. */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AbortedError, ScratchpackError, throwIfAborted, writeThroughTemp } from '@scratchpack/oci';
import { ElfError, objectSymbols } from './elf.ts';
import { type PlatformSpec, requireBuildable } from './platforms.ts';
import { startupMemSource, startupOnlyMem } from './startup-mem.ts';
import { resolveZig, type ZigInfo } from './zig.ts';
import { sharedZigLibDir } from './zig-lib.ts';

/** The running processes below `pid` (Linux `/proc`, every thread's children; none elsewhere). */
function descendants(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
      children.push(...list.split(' ').filter(Boolean).map(Number));
    }
  } catch {
    // gone, or no /proc
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

/**
 * Run zig; an abort of `signal` kills it at once (SIGKILL), with the compilers it started (`zig cc` runs clang
 * and the linker as its children), and rejects with `AbortedError` once zig is gone.
 */
function run(
  file: string,
  args: string[],
  options: { cwd?: string | undefined; maxBuffer: number; env?: NodeJS.ProcessEnv },
  signal: AbortSignal | undefined,
  what: string,
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let aborted = false;
    const child = execFile(file, args, options, (err, _stdout, stderr) => {
      signal?.removeEventListener('abort', onAbort);
      if (aborted) reject(new AbortedError(what, { cause: signal?.reason }));
      else if (err) reject(Object.assign(err, { stderr }));
      else resolvePromise();
    });
    const onAbort = () => {
      aborted = true;
      const pids = child.pid === undefined ? [] : descendants(child.pid);
      child.kill('SIGKILL');
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Flags for small static programs: size-optimised, stripped, no build-id, no unwind tables, dead code dropped. */
export const SMALL_STATIC_FLAGS: readonly string[] = Object.freeze([
  '-Os',
  '-s',
  '-fno-asynchronous-unwind-tables',
  '-fno-unwind-tables',
  '-ffunction-sections',
  '-fdata-sections',
  '-Wl,--gc-sections',
  '-Wl,--build-id=none',
]);

export interface CompileOptions {
  /** C (or C++) source files. */
  sources: string[];
  /** Platform name (`linux/arm64/v8`), label, or spec. */
  platform: string | PlatformSpec;
  /** Output file. Written to a temporary name, then renamed: a failed compile leaves the old one. */
  out: string;
  /** Extra compiler flags (after the target flags). Defaults to `SMALL_STATIC_FLAGS`. */
  flags?: readonly string[];
  /** Preprocessor definitions, passed as `-DNAME=VALUE`. */
  defines?: Record<string, string>;
  /** A zig to use; defaults to `resolveZig()`. */
  zig?: ZigInfo;
  /** Working directory for the compiler; paths inside outputs are made relative to it. */
  cwd?: string;
  /** Abort the compile: zig (and the compilers it started) is killed, and `AbortedError` is thrown. */
  signal?: AbortSignal | undefined;
  /**
   * Link byte-loop memcpy and memset (startup-mem.ts) when the program's own code calls nothing that uses them
   * (found by compiling each source to an object first): they then serve only musl's start-up, and the binary
   * is smaller. Any other program is compiled exactly as without this.
   */
  startupMem?: boolean;
}

export interface CompileResult {
  platform: PlatformSpec;
  out: string;
  bytes: number;
  /** The exact command line run (argv), for logs and debugging. */
  argv: string[];
}

export class CompileError extends ScratchpackError {
  declare readonly code: 'COMPILE_FAILED';
  readonly platform: string;
  readonly stderr: string;
  constructor(platform: string, stderr: string, cause?: unknown) {
    const detail = stderr
      .split('\n')
      .filter((l) => /error/i.test(l))
      .slice(0, 5)
      .join('\n');
    super('COMPILE_FAILED', `zig cc failed for ${platform}:\n${detail || stderr.slice(0, 2000)}`, { cause });
    this.name = 'CompileError';
    this.platform = platform;
    this.stderr = stderr;
  }
}

/** The argv (after the zig binary) for one compile. Pure: used by `compile` and by tests. */
export function compileArgs(
  p: PlatformSpec,
  o: Omit<CompileOptions, 'platform' | 'zig' | 'out'>,
  tmpOut: string,
): string[] {
  const cwd = resolve(o.cwd ?? process.cwd());
  const defines = Object.entries(o.defines ?? {}).map(([k, v]) => `-D${k}=${v}`);
  return [
    'cc',
    '-target',
    p.zigTarget,
    `-mcpu=${p.zigCpu}`,
    '-static',
    // No absolute paths inside outputs: the same sources give the same bytes in any folder.
    `-ffile-prefix-map=${cwd}=.`,
    ...(o.flags ?? SMALL_STATIC_FLAGS),
    ...defines,
    '-o',
    tmpOut,
    ...o.sources,
  ];
}

/** Compile `sources` for one platform with `zig cc`. */
export async function compile(o: CompileOptions): Promise<CompileResult> {
  const p = typeof o.platform === 'string' ? requireBuildable(o.platform) : o.platform;
  if (p.unsupported) requireBuildable(p.name);
  const what = `compiling for ${p.name}`;
  throwIfAborted(o.signal, what);
  const zig = o.zig ?? resolveZig();
  const out = resolve(o.out);
  await mkdir(dirname(out), { recursive: true });
  const libDir = await sharedZigLibDir(zig);
  const env = libDir ? { ...process.env, ZIG_LIB_DIR: libDir } : undefined;
  const zigCc = (args: string[]) =>
    run(zig.path, args, { cwd: o.cwd, maxBuffer: 16 * 1024 * 1024, env }, o.signal, what);
  let argv: string[] = [];
  try {
    const sources =
      o.startupMem && (await callsOnlyStartupMem(p, o, zigCc))
        ? [...o.sources, startupMemSource()]
        : o.sources;
    await writeThroughTemp(out, async (tmp) => {
      argv = compileArgs(p, { ...o, sources }, tmp);
      await zigCc(argv);
      throwIfAborted(o.signal, what);
    });
  } catch (err) {
    if (err instanceof AbortedError) throw err;
    const e = err as { stderr?: string; message: string };
    throw new CompileError(p.name, e.stderr ?? e.message, err);
  }
  const { size } = await stat(out);
  return { platform: p, out, bytes: size, argv: [zig.path, ...argv] };
}

/** `args` without what only the link reads: `-s`, `-Wl,…`, `-Xlinker X`. */
function compileOnly(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-Xlinker') i++;
    else if (a !== '-s' && !a.startsWith('-Wl,')) out.push(a);
  }
  return out;
}

/**
 * Whether the program `o` compiles to calls memcpy and memset only through musl's start-up: each source compiled
 * alone (`-c`, without LTO, so the object is ELF) with the same flags by `zigCc`, and its symbols checked.
 */
async function callsOnlyStartupMem(
  p: PlatformSpec,
  o: CompileOptions,
  zigCc: (args: string[]) => Promise<void>,
): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'scratchpack-objects-'));
  try {
    for (const [i, source] of o.sources.entries()) {
      const obj = join(dir, `${i}.o`);
      // `-c` and `-fno-lto` before `-o`: the object, as ELF, of this source alone. Without the link's flags: zig
      // applies them to a `-c` object too (`-s` strips its symbol table, `--gc-sections` empties it).
      const args = compileOnly(compileArgs(p, { ...o, sources: [source] }, obj));
      args.splice(args.lastIndexOf('-o'), 0, '-c', '-fno-lto');
      await zigCc(args);
      let symbols: { undefined: string[]; defined: string[] };
      try {
        symbols = objectSymbols(await readFile(obj), source);
      } catch (err) {
        // An object this cannot read (no symbol table…): keep musl's, as without the option.
        if (err instanceof ElfError) return false;
        throw err;
      }
      if (!startupOnlyMem(symbols.undefined, symbols.defined)) return false;
    }
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface CompileAllOptions extends Omit<CompileOptions, 'platform' | 'out' | 'defines' | 'flags'> {
  platforms: readonly (string | PlatformSpec)[];
  /** Compiler flags (after the target flags), the same for all platforms or computed per platform. */
  flags?: readonly string[] | ((p: PlatformSpec) => readonly string[]);
  /** Preprocessor definitions, the same for all platforms or computed per platform. */
  defines?: Record<string, string> | ((p: PlatformSpec) => Record<string, string>);
  /** Output path for a platform. */
  out: (p: PlatformSpec) => string;
  /** How many compiles run at once; default: the number of CPUs. */
  concurrency?: number;
  /** Called as each platform starts compiling. */
  onStart?: (p: PlatformSpec) => void;
  /** Called as each platform finishes. */
  onDone?: (r: CompileResult) => void;
}

/** Compile for many platforms concurrently; results come back in the order the platforms were given. */
export async function compileAll(o: CompileAllOptions): Promise<CompileResult[]> {
  const specs = o.platforms.map((p) => (typeof p === 'string' ? requireBuildable(p) : p));
  const zig = o.zig ?? resolveZig();
  const results: CompileResult[] = new Array(specs.length);
  const errors: CompileError[] = [];
  let next = 0;
  const worker = async () => {
    while (next < specs.length && !o.signal?.aborted) {
      const i = next++;
      const p = specs[i]!;
      try {
        const defines = typeof o.defines === 'function' ? o.defines(p) : o.defines;
        const flags = typeof o.flags === 'function' ? o.flags(p) : o.flags;
        o.onStart?.(p);
        results[i] = await compile({ ...o, defines, flags, platform: p, out: o.out(p), zig });
        o.onDone?.(results[i]!);
      } catch (err) {
        errors.push(err as CompileError);
      }
    }
  };
  const n = Math.max(1, Math.min(o.concurrency ?? availableParallelism(), specs.length));
  await Promise.all(Array.from({ length: n }, worker));
  // Aborted: one AbortedError, not one per platform that was running.
  throwIfAborted(o.signal, 'compiling');
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join('\n'));
  return results;
}

export interface CompileProgramOptions {
  /** The program's file name inside each platform folder, e.g. `hello`. */
  name: string;
  /** Options shared by every platform (sources, flags, defines, cwd). */
  options: Omit<CompileAllOptions, 'platforms' | 'out'>;
  platforms: readonly PlatformSpec[];
  /** Where a platform's binary goes. */
  out: (p: PlatformSpec) => string;
  /** Where progress lines go (a package script passes `console.log`; libraries print nothing). */
  log?: (line: string) => void;
}

/** What a package's compile script does: resolve zig, compile every platform, report each binary. */
export async function compileProgram(o: CompileProgramOptions): Promise<CompileResult[]> {
  const log = o.log ?? (() => {});
  const zig = o.options.zig ?? resolveZig();
  log(`zig ${zig.version} (${zig.source}: ${zig.path})`);
  const started = Date.now();
  const results = await compileAll({
    ...o.options,
    platforms: o.platforms,
    zig,
    out: o.out,
    onDone: (r) =>
      log(`  ${r.platform.name.padEnd(16)} ${String(r.bytes).padStart(7)} B  ${r.platform.label}/${o.name}`),
  });
  log(
    `compiled ${o.name} for ${o.platforms.length} platforms in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return results;
}
