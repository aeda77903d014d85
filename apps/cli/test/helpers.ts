import { spawn } from 'node:child_process';
import { cp, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { copyHelloBinaries } from './hello-fixture.ts';

export const cliBin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'scratchpack.js');
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real CLI in a child process (as users do), with a timeout. */
export function cli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number; input?: string | Buffer } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export interface BuiltCopy {
  index: string;
  images: { platform: string; digest: string; size: number }[];
}

/**
 * A copy of packages/hello at `folder` with its binaries for every platform (compiled once per content, see
 * hello-fixture.ts), packed by the CLI into `folder/out/oci` (tags latest, 1.0.0) and `folder/out/hello.oci.tar`.
 * The build's JSON summary.
 */
export async function buildCopy(folder: string, env: NodeJS.ProcessEnv = {}): Promise<BuiltCopy> {
  const hello = join(repoRoot, 'packages', 'hello');
  await mkdir(join(folder, 'src'), { recursive: true });
  await cp(join(hello, 'src', 'hello.c'), join(folder, 'src', 'hello.c'));
  await cp(join(hello, 'Dockerfile'), join(folder, 'Dockerfile'));
  await copyHelloBinaries(folder);
  const r = await cli(
    // biome-ignore format: one flag per pair reads better
    ['build', 'dist/{label}', '-f', 'Dockerfile', '--platform', 'all', '-t', 'latest', '-t', '1.0.0',
      '-o', 'out/oci', '-o', 'out/hello.oci.tar', '--json'],
    { cwd: folder, env },
  );
  if (r.status !== 0 || r.stderr) throw new Error(`scratchpack build failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as BuiltCopy;
}
