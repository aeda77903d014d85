/**
 * A real Debian rootfs tarball, made by mmdebstrap (debootstrap as a fallback, as root) and cached between
 * test runs under `${XDG_CACHE_HOME:-~/.cache}/scratchpack-test/`, keyed by suite, variant, architecture and
 * packages. Written to a temporary name and renamed, so a cut-short run never leaves a half tarball.
 * Delete the cache folder to fetch fresh packages from the mirror.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolPath } from '@scratchpack/test-utils';

const run = promisify(execFile);

export interface DebianRootfs {
  suite?: string;
  variant: 'minbase' | 'extract';
  arch: 'amd64' | 'arm64' | 's390x';
  include?: string[];
}

export function debianCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'scratchpack-test');
}

/** Path of the cached tarball for `o`, made first if needed (1–3 minutes from the mirror). */
export async function debianRootfs(o: DebianRootfs): Promise<string> {
  const suite = o.suite ?? 'bookworm';
  const include = [...(o.include ?? [])].sort();
  const key = createHash('sha256')
    .update(JSON.stringify({ suite, v: o.variant, a: o.arch, include }))
    .digest('hex');
  const dir = debianCacheDir();
  const file = join(dir, `debian-${suite}-${o.variant}-${o.arch}-${key.slice(0, 12)}.tar`);
  if (
    await stat(file).then(
      (s) => s.size > 0,
      () => false,
    )
  )
    return file;
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const env = { ...process.env, SOURCE_DATE_EPOCH: '0' };
  try {
    try {
      if (!toolPath('mmdebstrap')) throw new Error('mmdebstrap is not installed');
      const args = [`--variant=${o.variant}`, `--arch=${o.arch}`, '--quiet', '--format=tar'];
      if (include.length) args.push(`--include=${include.join(',')}`);
      await run('mmdebstrap', [...args, suite, tmp], { env, timeout: 15 * 60_000, maxBuffer: 64 << 20 });
    } catch (err) {
      if (!toolPath('debootstrap') || process.getuid?.() !== 0) throw err;
      await debootstrapTar(suite, o, include, tmp, env);
    }
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return file;
}

/** debootstrap into a directory (root only; `--foreign` for a foreign architecture), then tar it. */
async function debootstrapTar(
  suite: string,
  o: DebianRootfs,
  include: string[],
  out: string,
  env: NodeJS.ProcessEnv,
) {
  const work = await mkdtemp(join(tmpdir(), 'debootstrap-'));
  try {
    const args = [`--variant=${o.variant === 'extract' ? 'minbase' : o.variant}`, `--arch=${o.arch}`];
    if (o.variant === 'extract' || o.arch !== 'amd64') args.push('--foreign');
    if (include.length) args.push(`--include=${include.join(',')}`);
    await run('debootstrap', [...args, suite, join(work, 'root')], {
      env,
      timeout: 15 * 60_000,
      maxBuffer: 64 << 20,
    });
    await run('tar', ['-C', join(work, 'root'), '--numeric-owner', '-cf', out, '.'], { timeout: 5 * 60_000 });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
