/**
 * Any static program as build input: C/C++ sources compiled per platform with zig (`--c-source`), or
 * prebuilt per-platform binaries (`--binary linux/arm64=path`, e.g. Go or Rust static builds). Each binary
 * is checked to be a static ELF for its platform, then staged as `<staging>/<label>/<name>`: the per-platform
 * build context for the Dockerfile (the user's, or a generated FROM scratch / COPY / ENTRYPOINT one).
 */
import { mkdtempSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { writeBuildInfos } from '@scratchpack/attest';
import { formatPlatform, type Platform, trackTemp } from '@scratchpack/oci';
import {
  checkStaticBinary,
  compileAll,
  cSourceFlags,
  findPlatform,
  PLATFORMS,
  type PlatformSpec,
  requireBuildable,
  resolveZig,
} from '@scratchpack/toolchain';
import { BuildInputError } from './errors.ts';
import { expandTemplate } from './template.ts';

export interface ProgramOptions {
  /** C/C++ sources, compiled for every platform of `platforms`. */
  cSources: string[];
  /** Extra compiler flags, after the default ones; `{arch}` & co are expanded per platform. */
  cflags: string[];
  /** `PLATFORM=PATH` pairs; platforms then come from these. */
  binaries: string[];
  /** File name of the program in the image; default from the first source or binary. */
  name?: string;
  /** Target platforms for `cSources`. */
  platforms: Platform[];
  /** A context whose files are copied next to the program (may hold `{label}` & co), if given. */
  context?: string;
  /** The user's Dockerfile; default the context's, else a generated one. */
  file?: string;
  /** The generated Dockerfile's `FROM` (a store name, `oci:DIR[:TAG]` or a registry reference); default scratch. */
  base?: string;
  /** Relative paths (sources, binaries, context, file) start here; default `process.cwd()`. */
  cwd?: string;
  /** Told as each platform's compile starts and ends (`--c-source`), e.g. for progress lines. */
  onCompile?: (platform: Platform, event: 'start' | 'done') => void;
  /** Cancels the compiles (zig is killed). */
  signal?: AbortSignal;
}

export interface StagedProgram {
  name: string;
  platforms: Platform[];
  /** Context template for the build: `<staging>/{label}`. */
  context: string;
  file: string;
  /** `dev.scratchpack.toolchain` when compiled here. */
  annotations: Record<string, string>;
  cleanup(): Promise<void>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** `linux/arm64=dist/prog` → spec and path; platforms in matrix order, each once. */
export function parseBinaryFlags(values: string[]): { spec: PlatformSpec; path: string }[] {
  const out: { spec: PlatformSpec; path: string }[] = [];
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0 || i === v.length - 1) {
      throw new BuildInputError(
        `--binary "${v}": expected PLATFORM=PATH`,
        'e.g. --binary linux/arm64=dist/arm64/prog',
      );
    }
    let spec: PlatformSpec;
    try {
      spec = findPlatform(v.slice(0, i));
    } catch (e) {
      throw new BuildInputError(`--binary "${v}": ${(e as Error).message}`);
    }
    if (out.some((b) => b.spec === spec)) throw new BuildInputError(`--binary: ${spec.name} is given twice`);
    out.push({ spec, path: v.slice(i + 1) });
  }
  return out.sort((a, b) => PLATFORMS.indexOf(a.spec) - PLATFORMS.indexOf(b.spec));
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Compile or copy the program for every platform into a temporary staging directory. */
export async function stageProgram(o: ProgramOptions): Promise<StagedProgram> {
  if (o.cSources.length > 0 && o.binaries.length > 0) {
    throw new BuildInputError(
      '--c-source and --binary do not mix',
      'compile from sources, or pass prebuilt binaries',
    );
  }
  if (o.base !== undefined && (!o.base || /\s/.test(o.base))) {
    throw new BuildInputError(`--base "${o.base}": expected one image name`, 'e.g. --base static');
  }
  if (o.base && o.file) {
    throw new BuildInputError(
      `--base ${o.base} is for the generated Dockerfile, but --file ${o.file} is given`,
      `put "FROM ${o.base}" in that Dockerfile instead`,
    );
  }
  const cwd = o.cwd ?? process.cwd();
  const binaries = parseBinaryFlags(o.binaries);
  const first = o.cSources[0] ?? binaries[0]?.path ?? '';
  const name = o.name ?? basename(first, o.cSources.length ? extname(first) : '');
  if (!NAME.test(name)) {
    throw new BuildInputError(
      `program name "${name}" is not a plain file name`,
      'set one with --name, e.g. --name httpd',
    );
  }
  const specs = binaries.length
    ? binaries.map((b) => b.spec)
    : o.platforms.map((p) => {
        try {
          return requireBuildable(formatPlatform(p));
        } catch (e) {
          throw new BuildInputError((e as Error).message);
        }
      });
  const staging = trackTemp(mkdtempSync(join(tmpdir(), 'scratchpack-program-')));
  const cleanup = () => rm(staging, { recursive: true, force: true });
  try {
    const out = (p: PlatformSpec) => join(staging, p.label, name);
    if (o.context) {
      for (const p of specs) {
        const from = resolve(cwd, expandTemplate(o.context, p.platform));
        await cp(from, join(staging, p.label), { recursive: true, verbatimSymlinks: true });
        if (await exists(out(p))) {
          throw new BuildInputError(
            `the build context ${from} already has a file named ${name}`,
            'pick another --name',
          );
        }
      }
    }
    const annotations: Record<string, string> = {};
    if (binaries.length) {
      for (const b of binaries) {
        const bytes = await readFile(resolve(cwd, b.path)).catch((e: NodeJS.ErrnoException) => {
          throw new BuildInputError(
            `--binary ${b.spec.name}=${b.path}: cannot read it (${e.code ?? e.message})`,
          );
        });
        checkStaticBinary(bytes, b.path, b.spec);
        await mkdir(join(staging, b.spec.label), { recursive: true });
        await copyFile(resolve(cwd, b.path), out(b.spec));
        await chmod(out(b.spec), 0o755);
      }
    } else {
      for (const s of o.cSources)
        if (!(await exists(resolve(cwd, s)))) throw new BuildInputError(`--c-source ${s}: no such file`);
      // Expanded before anything runs, so an unknown placeholder is a usage error, not a compile failure.
      const cflags = new Map(
        specs.map((p) => [p, o.cflags.map((f) => expandTemplate(f, p.platform, `--cflag "${f}"`))]),
      );
      const zig = resolveZig();
      const compiled = await compileAll({
        sources: o.cSources,
        cwd,
        zig,
        platforms: specs,
        flags: (p) => [...cSourceFlags(p), ...cflags.get(p)!],
        // memcpy/memset as byte loops when only the C library's start-up uses them (toolchain startup-mem.ts).
        startupMem: true,
        // Like hello: the program may print what it was built for.
        defines: (p) => ({ SCRATCHPACK_PLATFORM: JSON.stringify(p.name) }),
        out,
        ...(o.onCompile
          ? {
              onStart: (p: PlatformSpec) => o.onCompile!(p.platform, 'start'),
              onDone: (r: { platform: PlatformSpec }) => o.onCompile!(r.platform.platform, 'done'),
            }
          : {}),
        signal: o.signal,
      });
      for (const p of specs) checkStaticBinary(await readFile(out(p)), `${name} (${p.name})`, p);
      await writeBuildInfos(compiled, { zig, sources: o.cSources, cwd, name });
      annotations['dev.scratchpack.toolchain'] = `zig ${zig.version}`;
    }
    let file = o.file ? resolve(cwd, o.file) : undefined;
    if (!file && o.context && !o.context.includes('{')) {
      const candidate = resolve(cwd, o.context, 'Dockerfile');
      if (await exists(candidate)) file = candidate;
    }
    if (file && o.base) {
      throw new BuildInputError(
        `--base ${o.base} is for the generated Dockerfile, but ${file} is used`,
        `put "FROM ${o.base}" in that Dockerfile instead`,
      );
    }
    if (!file) {
      file = join(staging, 'Dockerfile');
      const from = o.base ?? 'scratch';
      await writeFile(file, `FROM ${from}\nCOPY ${name} /\nENTRYPOINT ${JSON.stringify([`/${name}`])}\n`);
    }
    return {
      name,
      platforms: specs.map((p) => p.platform),
      context: join(staging, '{label}'),
      file,
      annotations,
      cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
